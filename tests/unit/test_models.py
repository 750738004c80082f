from __future__ import annotations

import pytest

from signaling.errors import BadRequest
from signaling.models import Join, Leave, Signal, describe_unroutable, parse


def test_join_with_only_a_room() -> None:
    join = parse('{"action":"join","room":"r-1_A"}', Join)

    assert (join.room, join.peer_id, join.token, join.name, join.capacity) == ("r-1_A", None, None, "", None)


def test_join_trims_the_name_and_ignores_unknown_fields() -> None:
    join = parse('{"action":"join","room":"r","name":"  Ada  ","peerId":"p","token":"t","capacity":3,"x":1}', Join)

    assert (join.name, join.peer_id, join.token, join.capacity) == ("Ada", "p", "t", 3)


@pytest.mark.parametrize(
    "body",
    [
        '{"action":"join","room":""}',
        '{"action":"join","room":"a.b"}',
        '{"action":"join","room":"r","capacity":1}',
        '{"action":"join","room":"r","capacity":2.5}',
        '{"action":"join","room":"r","token":""}',
        '{"action":"join","room":null}',
    ],
)
def test_join_rejects_malformed_fields(body: str) -> None:
    with pytest.raises(BadRequest):
        parse(body, Join)


def test_signal_keeps_data_as_given() -> None:
    signal = parse('{"action":"signal","to":"p","data":{"candidates":[{"candidate":"a"}, null]}}', Signal)

    assert signal.data == {"candidates": [{"candidate": "a"}, None]}


def test_leave_needs_nothing_else() -> None:
    assert parse('{"action":"leave"}', Leave).action == "leave"


def test_a_deeply_nested_message_is_a_bad_request_not_a_crash() -> None:
    with pytest.raises(BadRequest):
        parse('{"action":"signal","to":"p","data":' + "[" * 100_000 + "]" * 100_000 + "}", Signal)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, "JSON"),
        ("1", "object"),
        ('{"action":"join!"}', 'Unknown action "join!"'),
        ("{}", "no 'action'"),
    ],
)
def test_why_a_message_was_unroutable(body: str | None, expected: str) -> None:
    problem = describe_unroutable(body)

    assert problem.code == "bad-request"
    assert expected in problem.message
