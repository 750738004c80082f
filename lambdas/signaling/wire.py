"""The wire format, both ways: every client frame is parsed here once, strictly, and every server message is
serialised here. What comes in and what goes out is RFC 8259 JSON and nothing else.

Python's `json` accepts more than RFC 8259 and fails in ways a client can trigger on purpose: it reads `NaN`,
`Infinity` and `-Infinity` (and `1e400` as infinity) and writes them back out as the same non-JSON tokens, so
relaying them would break the receiving browser's `JSON.parse`; it turns a number of thousands of digits into an
int, which Python refuses to do past 4,300 digits (ValueError); it recurses once per nesting level (RecursionError);
and it decodes `"\\ud800"` to a lone surrogate that cannot be encoded as UTF-8. Here each of those is a BadRequest
with a sentence for a person, before anything else looks at the message.
"""

from __future__ import annotations

import json
import math
from typing import Any

from signaling.errors import BadRequest

MAX_DEPTH = 32
"""Arrays and objects nest at most this deep, counting the message itself as level 1. The bundled client's deepest
message is 4 levels (message > data > candidates > candidate); 32 leaves room for any client's own `data` while
keeping every walk over a message short and far from Python's recursion limit."""

MAX_NUMBER_CHARS = 32
"""A number literal is at most this many characters. Every IEEE 754 double as JavaScript's JSON.stringify writes it
fits in 24 (e.g. -1.7976931348623157e+308), and 64-bit integers in 20; a longer literal is no number a client
meant. The check runs on the literal's text, before int() or float() does any work on it."""

_SYNTAX = 'Messages must be JSON text, for example {"action":"ping"}.'


class _Rejected(Exception):
    """Raised from inside the decoder's hooks; becomes a BadRequest with this sentence."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


def _number_too_long(text: str) -> _Rejected:
    return _Rejected(
        f"A number in the message is {len(text)} characters long; numbers can be at most {MAX_NUMBER_CHARS}."
    )


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _number_too_long(text)
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _number_too_long(text)
    value = float(text)
    if not math.isfinite(value):
        raise _Rejected(f"The number {text} is too large: JSON numbers must be finite (at most about 1.8e308).")
    return value


def _parse_constant(name: str) -> Any:
    raise _Rejected(f"{name} is not JSON: numbers must be finite, and NaN, Infinity and -Infinity are not numbers.")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _Rejected(f"The key {_quote(duplicate)} appears twice in one object; keys must be unique.")
    return result


_DECODER = json.JSONDecoder(
    parse_int=_parse_int,
    parse_float=_parse_float,
    parse_constant=_parse_constant,
    object_pairs_hook=_object,
    strict=True,  # no raw control characters inside strings
)


def decode(body: str | None, *, is_base64: bool = False) -> dict[str, Any]:
    """One client frame as a JSON object, or BadRequest naming what is wrong with it."""
    if is_base64:
        raise BadRequest("Binary frames are not accepted: send each message as a JSON text frame.")
    if not body:
        raise BadRequest(_SYNTAX)
    if not is_valid_unicode(body):
        raise BadRequest("The message is not valid UTF-8 text.")
    try:
        payload = _DECODER.decode(body)
    except _Rejected as exc:
        raise BadRequest(exc.sentence) from None
    except RecursionError:
        raise BadRequest(_too_deep()) from None
    except ValueError:  # JSONDecodeError, and anything int()/float() refuse
        raise BadRequest(_SYNTAX) from None
    if not isinstance(payload, dict):
        raise BadRequest("A message must be a JSON object with an 'action' field.")
    # Only a frame with enough brackets can be too deep, and only an escape can make a lone surrogate.
    if body.count("[") + body.count("{") > MAX_DEPTH or "\\u" in body:
        _check_structure(payload)
    return payload


def decode_event(event: dict[str, Any]) -> dict[str, Any]:
    """The frame of an API Gateway WebSocket MESSAGE event (binary frames arrive base64-encoded)."""
    body = event.get("body")
    return decode(body if isinstance(body, str) else None, is_base64=bool(event.get("isBase64Encoded")))


def _check_structure(payload: dict[str, Any]) -> None:
    """Depth and Unicode, without recursion: an explicit stack of (value, depth)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise BadRequest(_too_deep())
            for key, item in value.items():
                if not is_valid_unicode(key):
                    raise BadRequest(_LONE_SURROGATE)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise BadRequest(_too_deep())
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and not is_valid_unicode(value):
            raise BadRequest(_LONE_SURROGATE)


_LONE_SURROGATE = (
    "A string in the message holds a lone UTF-16 surrogate (\\ud800-\\udfff without its partner); strings must be"
    " valid Unicode."
)


def _too_deep() -> str:
    return f"The message nests arrays and objects more than {MAX_DEPTH} levels deep."


def is_valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _quote(text: str) -> str:
    return json.dumps(text[:40])


# --- server -> client ------------------------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """RFC 8259 JSON text: compact, UTF-8 ready, and never NaN or Infinity (ValueError instead)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
