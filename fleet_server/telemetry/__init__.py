"""Telemetry domain: how board messages become rows, and writing them in batches."""
