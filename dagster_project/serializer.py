"""A faster JSON serializer for opensearch-py (orjson), falling back to the standard one for what orjson refuses."""

from __future__ import annotations

from typing import Any

import orjson
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer


class OrjsonSerializer(JSONSerializer):
    """Serialises bulk bodies several times faster than `json`; output is the same JSON."""

    def dumps(self, data: Any) -> Any:
        """JSON text of `data` (strings pass through, as in opensearch-py)."""
        if isinstance(data, str):
            return data
        try:
            return orjson.dumps(data, default=self.default).decode()
        except TypeError:
            # e.g. lone surrogates from JSON input, or types orjson does not know: the stdlib path handles them.
            return super().dumps(data)

    def loads(self, s: str) -> Any:
        """Parse a response body."""
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError:
            try:
                return super().loads(s)
            except SerializationError:
                raise
