"""The chat limit (4000 characters, docs/protocol.md 2.5) holds on receipt too: a peer that ignores it (not the bundled
client, which cuts before sending) has its message cut and marked, not shown whole."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import NewPage
from tests.e2e.helpers import TIMEOUT_MS, open_chat, two_person_call

pytestmark = pytest.mark.browser


def test_an_overlong_chat_message_from_a_peer_is_cut_on_receipt(new_page: NewPage) -> None:
    ada, grace = two_person_call(new_page)
    grace_id = ada.evaluate("() => [...parley.call.peers.keys()][0]")
    # When Ada's page sends 5000 characters straight on the chat channel, past its own client's limit
    ada.evaluate(
        """id => parley.call.peers.get(id).peer.channels.chat.send(JSON.stringify(
            {type: 'chat', id: crypto.randomUUID(), text: 'a'.repeat(4000) + 'b'.repeat(1000), sentAt: Date.now()}))""",
        grace_id,
    )
    # Then Grace sees the first 4000 and a note, and none of the rest
    open_chat(grace)
    log = grace.get_by_test_id("chat-log")
    expect(log).to_contain_text("(cut: longer than 4000 characters)", timeout=TIMEOUT_MS)
    text = log.inner_text()
    assert "a" * 4000 in text
    assert "a" * 4000 + "… (cut" in text
    assert "ab" not in text
