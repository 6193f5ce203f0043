"""Sysmon's `Hashes` matches as exact terms on the ECS hash fields the windows source fills.

SigmaHQ matches hashes as `Hashes|contains: 'MD5=<digest>'` (or a bare digest) against Sysmon's
`SHA1=..,MD5=..,SHA256=..,IMPHASH=..` text: compiled as written, every value is a `*...*` wildcard on a
keyword field, and the hash-list rules OR together up to 8,864 of them, a query whose automata exhaust a
small node's heap. The windows source parses that text into `<object>.hash.{md5,sha1,sha256}` and
`<object>.pe.imphash` (lowercase), so the same match is a set of exact terms there.

pySigma's maintained `HashesFieldsDetectionItemTransformation` does the splitting (algorithm prefix or
digest length, one detection item per field). This subclass adds what exactness needs: it rewrites an
item only when every value is a `contains` of one whole digest of a known algorithm (anything else, such
as `Hash|contains: 'IMPHASH='`, stays a wildcard match, and the guard in `execute` runs it), names the
ECS fields, lowercases the digests as the parser does, and tries a bare 32-digit digest as MD5 and as
IMPHASH, both of which Sysmon writes with 32 digits.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from sigma.conditions import ConditionOR
from sigma.modifiers import SigmaContainsModifier
from sigma.processing.transformations import HashesFieldsDetectionItemTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import SigmaString, SpecialChars

ALGORITHMS = {"MD5": 32, "SHA1": 40, "SHA256": 64, "IMPHASH": 32}
"""The algorithms Sysmon writes (and the windows source parses), with their digest lengths."""
_HEX = re.compile(r"[0-9A-Fa-f]+")


def ecs_field(target: str, algorithm: str) -> str:
    """The ECS field of `target`'s (`process`, `file`) digest of `algorithm`."""
    if algorithm == "IMPHASH":
        return f"{target}.pe.imphash"
    return f"{target}.hash.{algorithm.lower()}"


def _whole_digest(value: object) -> str | None:
    """The text between the wildcards of a `contains` value, when it is one plain string; else None."""
    if not isinstance(value, SigmaString) or len(value.s) != 3:
        return None
    first, middle, last = value.s
    if first != SpecialChars.WILDCARD_MULTI or last != SpecialChars.WILDCARD_MULTI or not isinstance(middle, str):
        return None
    return middle


def _algorithms(text: str) -> tuple[list[str], str] | None:
    """The algorithms a whole digest (`ALGO=digest` or bare) may be of, and the digest; None if not one."""
    algorithm, sep, digest = text.partition("=")
    if sep:
        algorithm = algorithm.upper()
        expected = ALGORITHMS.get(algorithm)
        if expected is None or len(digest) != expected or not _HEX.fullmatch(digest):
            return None
        return [algorithm], digest.lower()
    if not _HEX.fullmatch(text):
        return None
    found = [name for name, length in ALGORITHMS.items() if length == len(text)]
    return (found, text.lower()) if found else None


@dataclass
class EcsHashesTransformation(HashesFieldsDetectionItemTransformation):
    """`Hashes|contains` / `Hash|contains` of whole digests -> exact terms on `<target>.hash.*`/`.pe.imphash`."""

    target: str = "process"
    valid_hash_algos: list[str] = field(default_factory=lambda: list(ALGORITHMS))

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetection | SigmaDetectionItem | None:
        """The item as an OR of exact terms per ECS field, or None (left as it is) when that is not exact."""
        if (
            detection_item.field not in self.field_to_parse
            or detection_item.modifiers != [SigmaContainsModifier]
            or detection_item.value_linking is not ConditionOR
            or detection_item.negated
            or not detection_item.value
        ):
            return None
        by_field: dict[str, list[str]] = defaultdict(list)
        for value in detection_item.value:
            text = _whole_digest(value)
            parsed = _algorithms(text) if text is not None else None
            if parsed is None:
                return None
            algorithms, digest = parsed
            for algorithm in algorithms:
                if algorithm in self.valid_hash_algos:
                    by_field[ecs_field(self.target, algorithm)].append(digest)
        return SigmaDetection(
            detection_items=[
                SigmaDetectionItem(name, [], [SigmaString(digest) for digest in dict.fromkeys(digests)])
                for name, digests in by_field.items()
            ],
            item_linking=ConditionOR,
        )
