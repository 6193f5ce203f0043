"""Sub-commands of `siem`, one module each, named after its command; `cli.py` assembles them."""
