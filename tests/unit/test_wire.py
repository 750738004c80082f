"""signaling.wire: strict RFC 8259 in, RFC 8259 out, a sentence for every refusal."""

from __future__ import annotations

import json
import math

import pytest

from signaling import wire
from signaling.errors import BadRequest
from signaling.models import Signal, parse


def _refused(body: str | None, *, is_base64: bool = False) -> str:
    with pytest.raises(BadRequest) as caught:
        wire.decode(body, is_base64=is_base64)
    assert caught.value.code == "bad-request"
    return caught.value.message


def _nest(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + "1" + closer * depth


def test_a_plain_message_decodes() -> None:
    assert wire.decode('{"action":"signal","to":"p","data":{"seq":1,"x":[1.5,-0.0,"é🙂",true,null]}}') == {
        "action": "signal",
        "to": "p",
        "data": {"seq": 1, "x": [1.5, -0.0, "é🙂", True, None]},
    }


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "[NaN]", '{"a":Infinity}'])
def test_non_finite_constants_are_refused(token: str) -> None:
    assert "NaN, Infinity and -Infinity are not numbers" in _refused('{"action":"signal","data":' + token + "}")


@pytest.mark.parametrize("token", ["1e400", "-1e400", "1E999", "2e308", "-17976931348623159e292"])
def test_numbers_beyond_a_double_are_refused(token: str) -> None:
    assert "must be finite" in _refused('{"action":"signal","data":' + token + "}")


@pytest.mark.parametrize("where", ["peerId", "capacity", "to", "data", "unknownField"])
@pytest.mark.parametrize("digits", [wire.MAX_NUMBER_CHARS + 1, 4301, 50_000])
def test_long_numbers_are_refused_before_they_are_converted(where: str, digits: int) -> None:
    message = _refused('{"action":"join","room":"r","' + where + '":' + "7" * digits + "}")

    assert f"{digits} characters long" in message
    assert f"at most {wire.MAX_NUMBER_CHARS}" in message


def test_numbers_up_to_the_limit_are_kept_exactly() -> None:
    longest_int = "-" + "9" * (wire.MAX_NUMBER_CHARS - 1)
    double = "-1.7976931348623157e+308"

    decoded = wire.decode('{"a":' + longest_int + ',"b":' + double + ',"c":5e-324}')

    assert decoded == {"a": int(longest_int), "b": -1.7976931348623157e308, "c": 5e-324}


@pytest.mark.parametrize("depth", [wire.MAX_DEPTH, wire.MAX_DEPTH + 1, 999, 1000, 100_000])
@pytest.mark.parametrize(("opener", "closer"), [("[", "]"), ('{"k":', "}")])
def test_depth_is_bounded(depth: int, opener: str, closer: str) -> None:
    body = '{"action":"signal","data":' + _nest(depth - 1, opener, closer) + "}"  # the message itself is level 1

    if depth <= wire.MAX_DEPTH:
        assert wire.decode(body)["action"] == "signal"
    else:
        assert f"more than {wire.MAX_DEPTH} levels deep" in _refused(body)


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = "[" * 1000 + "{" * 1000

    assert wire.decode(json.dumps({"data": text}))["data"] == text


@pytest.mark.parametrize(
    "escaped", ["\\ud800", "\\udfff", "\\udc00\\ud800", "x\\ud83dy", "\\uDBFF", "\\ude00"], ids=lambda s: s
)
def test_lone_surrogates_are_refused_in_values_and_keys(escaped: str) -> None:
    assert "lone UTF-16 surrogate" in _refused('{"action":"signal","to":"p","data":"' + escaped + '"}')
    assert "lone UTF-16 surrogate" in _refused('{"action":"join","name":"' + escaped + '"}')
    assert "lone UTF-16 surrogate" in _refused('{"action":"signal","data":{"' + escaped + '":1}}')


def test_a_surrogate_pair_is_one_character() -> None:
    assert wire.decode('{"data":"\\ud83d\\ude00"}') == {"data": "😀"}


def test_a_body_that_is_not_unicode_text_is_refused() -> None:
    assert "UTF-8" in _refused('{"action":"ping","x":"\ud800"}')  # a raw lone surrogate in the event's body


def test_binary_frames_are_refused() -> None:
    assert "Binary frames" in _refused("eyJhY3Rpb24iOiJqb2luIn0=", is_base64=True)


def test_binary_frames_in_an_event_are_refused() -> None:
    with pytest.raises(BadRequest, match="Binary frames"):
        wire.decode_event({"body": "eyJhY3Rpb24iOiJqb2luIn0=", "isBase64Encoded": True})


def test_duplicate_keys_are_refused() -> None:
    assert '"action" appears twice' in _refused('{"action":"join","room":"r","action":"ping"}')


@pytest.mark.parametrize("body", [None, "", " ", "{", "{'a':1}", '{"a":1} x', '{"a":"\x01"}', "[1,]", "01"])
def test_text_that_is_not_json_is_refused(body: str | None) -> None:
    assert "Messages must be JSON text" in _refused(body)


@pytest.mark.parametrize("body", ["[]", "1", '"join"', "null"])
def test_json_that_is_not_an_object_is_refused(body: str) -> None:
    assert "JSON object" in _refused(body)


def test_models_parse_through_the_wire() -> None:
    with pytest.raises(BadRequest, match="must be finite"):
        parse('{"action":"signal","to":"p","data":{"x":NaN}}', Signal)


def test_dumps_writes_rfc_8259_only() -> None:
    assert wire.dumps({"a": [1, 2.5, "é"]}) == '{"a":[1,2.5,"é"]}'
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="JSON compliant"):
            wire.dumps({"data": value})
