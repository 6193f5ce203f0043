"""Deterministic document ids: a SHA-256 over the parts that identify a document, so a re-run overwrites it."""

from __future__ import annotations

import hashlib

UNIT = "\x1f"
"""The ASCII unit separator between parts: no log line or name contains it, so parts cannot run together."""


def stable_id(*parts: str, separator: str = UNIT, length: int = 32) -> str:
    """SHA-256 of the parts joined by `separator`, as hex, cut to `length` characters.

    Encoded as UTF-8 with `surrogateescape`, so undecodable bytes carried through from raw input still hash
    (and hash to the same id as the bytes they came from). Every document id of the suite is made here;
    the pieces that vary (separator, length) are kept per caller so existing ids stay byte-identical.
    """
    joined = separator.join(parts)
    return hashlib.sha256(joined.encode("utf-8", "surrogateescape")).hexdigest()[:length]
