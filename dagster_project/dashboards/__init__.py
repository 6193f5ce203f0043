"""OpenSearch Dashboards saved objects: loading `dashboards/*.ndjson`, validating them against the index
templates, rebuilding each panel's query, and importing them through the saved objects API."""
