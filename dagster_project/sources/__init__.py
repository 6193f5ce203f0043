"""Pure log-source parsers: one module (or package) per source, each declaring its `SPEC`, found by `registry`.

Shared pieces: `base` (event model, parser shape), `spec` (the declaration), `readers` (lines, JSON
records), `values` (times, addresses, JSON), `syslog` (RFC 3164/5424 on its own).
"""
