"""The grace-period queue message (signaling.grace.GraceOver)."""

from __future__ import annotations

import json

import pytest

from signaling.grace import GraceOver, MalformedGraceMessage


def test_a_message_carries_the_socket_and_the_api_it_belongs_to() -> None:
    message = GraceOver("connB=", "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "prod")

    assert GraceOver.loads(message.dumps()) == message
    assert json.loads(message.dumps()) == {
        "connectionId": "connB=",
        "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "stage": "prod",
    }
    assert message.request_context == {"domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "stage": "prod"}


@pytest.mark.parametrize(
    "body",
    [
        "not JSON",
        "[]",
        "null",
        '{"connectionId": "c=", "domainName": "d"}',
        '{"connectionId": "", "domainName": "d", "stage": "prod"}',
        '{"connectionId": 7, "domainName": "d", "stage": "prod"}',
    ],
)
def test_anything_else_is_malformed(body: str) -> None:
    with pytest.raises(MalformedGraceMessage):
        GraceOver.loads(body)
