"""Live collection: syslog and HTTP receivers, the durable spool, and its ingestion through the file pipeline."""
