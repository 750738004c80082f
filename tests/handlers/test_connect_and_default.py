from __future__ import annotations

import pytest

from .conftest import ORIGIN, Harness


def test_an_allowed_browser_origin_may_connect(aws: Harness) -> None:
    assert aws.connect("c1=", origin=ORIGIN)["statusCode"] == 200


def test_another_sites_origin_is_refused_with_403(aws: Harness) -> None:
    assert aws.connect("c1=", origin="https://evil.example")["statusCode"] == 403


def test_a_client_without_origin_may_connect(aws: Harness) -> None:
    # The recorded event comes from a non-browser client: it has no Origin header at all.
    assert aws.connect("c1=", origin=None)["statusCode"] == 200


def test_connect_writes_nothing(aws: Harness) -> None:
    aws.connect("c1=")

    assert aws.items() == []


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ("not json", "JSON"),
        ("[1, 2]", "object"),
        ('{"hello": 1}', "no 'action'"),
        ('{"action": "dance"}', 'Unknown action "dance"'),
        ('{"action": 42}', "Unknown action 42"),
        ("", "JSON"),
    ],
)
def test_unroutable_messages_get_a_bad_request_reply(aws: Harness, body: str, mentions: str) -> None:
    reply = aws.send("c1=", body)

    assert reply is not None
    assert reply["type"] == "error"
    assert reply["code"] == "bad-request"
    assert mentions in reply["message"]


def test_an_unexpected_failure_is_reported_as_internal_without_details(
    aws: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.table.delete()

    reply = aws.join("c1=")

    assert reply["code"] == "internal"
    assert "Table" not in reply["message"]
