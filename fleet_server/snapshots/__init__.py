"""Screen and camera snapshots (issue 18): the pictures boards upload on the
``snapshot`` channel, who may see them, asking a board for one, and how long
they are kept (``storage``, ``service``, ``schemas``)."""
