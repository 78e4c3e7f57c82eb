"""Who may do what and see which sites, below the HTTP layer.

* ``roles``      — roles and the capabilities each one grants;
* ``principal``  — the authenticated account (:class:`Principal`) and the
  actor an audit row names (:class:`Actor`);
* ``scope``      — which sites, incidents and tickets an account sees, as a
  value (:class:`Scope`), and ``storage`` turns it into SQL conditions;
* ``pagination`` — pages, sorting and the list envelope;
* ``audit``      — audit rows for changes (Điều 9.2).

Services and storage modules of every feature import from here; nothing here
imports FastAPI."""
