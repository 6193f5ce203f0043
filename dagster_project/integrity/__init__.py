"""Tamper evidence: hash-chained batch records per source, Ed25519-signed digests of the chain heads, verification."""
