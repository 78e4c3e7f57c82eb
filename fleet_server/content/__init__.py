"""The approved content registry (Điều 9.3): what a board may show, in which
language, and from when to when (docs/content.md).

The engine reads the registry every pass (``engine.storage.approved_content``):
a board showing a file whose SHA-256 is not in it, or outside its validity,
is a security incident; approving the hash clears it.
"""
