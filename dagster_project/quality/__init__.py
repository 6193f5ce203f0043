"""Data quality: suites derived from the templates, run as aggregations and GX on a sample, in siem-dq."""
