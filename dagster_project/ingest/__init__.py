"""Streaming, idempotent ingestion: read inputs, parse, index with deterministic ids, quarantine rejects, reconcile."""
