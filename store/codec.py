"""JSON for the store's files and journal, with orjson.

Every webhook encodes one journal line, and every checkpoint parses and
re-encodes each conversation file it brings up to date; with the standard
library's json those were a large share of a webhook's cost (bench/). orjson
writes the same documents -- compact, UTF-8, the files stay plain TinyDB
JSON -- several times faster. Non-string keys become strings, as with json.
"""

from __future__ import annotations

from typing import Any

import orjson

DecodeError = orjson.JSONDecodeError  # a ValueError, like json.JSONDecodeError


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    """The value `data` holds; DecodeError (a ValueError) when it is not JSON."""
    return orjson.loads(data)
