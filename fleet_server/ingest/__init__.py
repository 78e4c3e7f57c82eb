"""Ingest role: MQTT → validate → batch → COPY into PostgreSQL → ack."""
