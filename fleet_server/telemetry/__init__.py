"""Telemetry domain: how board messages become rows (``rows``), writing them
in batches (``storage``, with the batch types in ``batches``), retention and
rollups (``maintenance``), and the bucketed series the API and console read
(``service``, ``models``, ``schemas``, ``storage_series``)."""
