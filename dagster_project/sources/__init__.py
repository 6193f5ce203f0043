"""Pure log-source parsers: one module per source, registered in `registry`."""
