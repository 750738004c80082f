"""Files between two real browsers: either side cancels (and the sender stops at once), a second file-start during a
receive is refused and said so, a received text/html file is only ever a download, and received files leave memory
with the call."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from playwright.sync_api import Download, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import NewPage
from tests.e2e.helpers import TIMEOUT_MS, check_accessibility, two_person_call

pytestmark = pytest.mark.browser

BIG = 16 * 1024 * 1024

# Clicks the first Cancel button in the chat log as soon as the card is there ("offered") or shows some progress
# ("moving"), from inside the page (a click from the test would come too late: on loopback a whole file moves in a
# fraction of a second). No eval: the page's CSP forbids it.
CANCEL_WHEN = """when => {
    const test = card => when === 'offered' || /\\d+%/.test(card.textContent);
    new MutationObserver((_, observer) => {
        const card = document.querySelector('[data-testid=file-card]');
        const button = card?.querySelector('[data-testid=file-cancel]');
        if (button && test(card)) { observer.disconnect(); button.click(); }
    }).observe(document.getElementById('chat-log'), {subtree: true, childList: true, characterData: true});
}"""


def send_file(page: Page, path: Path) -> None:
    page.get_by_test_id("file-input").set_input_files(str(path))


def big_file(tmp_path: Path, name: str = "big.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(BIG))
    return path


def opening_downloads(page: Page, url: str) -> bool:
    """Opens `url` in a new tab of the page's browser context: True if that became a download, False if the URL is
    gone (revoked); fails if it rendered as a page."""
    viewer = page.context.new_page()
    downloads: list[Download] = []
    viewer.on("download", lambda download: downloads.append(download))
    failure = ""
    try:
        viewer.goto(url)
    except PlaywrightError as error:
        failure = error.message
    finally:
        viewer.close()
    if downloads:
        return True
    assert failure, f"{url} opened as a page"
    assert "ERR_FILE_NOT_FOUND" in failure, failure
    return False


def sent_bytes(page: Page) -> int:
    return int(page.get_by_test_id("file-progress").first.evaluate("p => p.value"))


def test_the_receiver_cancels_and_the_sender_stops_at_once(new_page: NewPage, tmp_path: Path) -> None:
    ada, grace = two_person_call(new_page)
    # Given Grace will cancel the moment a file is offered
    grace.evaluate(CANCEL_WHEN, "offered")

    # When Ada sends a 16 MiB file
    send_file(ada, big_file(tmp_path))

    # Then each side says who cancelled
    expect(grace.get_by_test_id("file-status")).to_contain_text("From Ada: cancelled by you", timeout=TIMEOUT_MS)
    expect(ada.get_by_test_id("file-status")).to_contain_text(
        "To Grace: cancelled by the recipient", timeout=TIMEOUT_MS
    )
    expect(ada.get_by_test_id("file-status")).to_have_attribute("data-ok", "false")
    # And Ada stopped sending: far fewer bytes went than the file has, no Cancel button is left on either side
    stopped_at = sent_bytes(ada)
    print(f"the sender stopped after {stopped_at:,} of {BIG:,} bytes")
    assert stopped_at < BIG // 2
    expect(ada.get_by_test_id("file-cancel")).to_have_count(0)
    expect(grace.get_by_test_id("file-cancel")).to_have_count(0)
    expect(grace.get_by_test_id("file-download")).to_have_count(0)

    # And the channel still works: the next file arrives whole
    small = tmp_path / "after.bin"
    payload = os.urandom(300_000)
    small.write_bytes(payload)
    send_file(ada, small)
    expect(ada.get_by_test_id("file-status").nth(1)).to_contain_text("delivered · SHA-256 verified", timeout=TIMEOUT_MS)
    expect(grace.get_by_test_id("file-status").nth(1)).to_contain_text("received · SHA-256 verified")
    # The stopped file's late chunks never reach the next file, and its status never changes again
    expect(grace.get_by_test_id("file-status").first).to_have_text("From Ada: cancelled by you")
    with grace.expect_download() as download_info:
        grace.get_by_test_id("file-download").click()
    received = Path(download_info.value.path()).read_bytes()
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(payload).hexdigest()
    # The chat with a cancelled and a delivered file card, on both sides
    check_accessibility(ada, "files (sent)")
    check_accessibility(grace, "files (received)")


def test_the_sender_cancels_midway_and_the_receiver_is_told(new_page: NewPage, tmp_path: Path) -> None:
    ada, grace = two_person_call(new_page)
    # Given Ada will cancel as soon as some bytes went out
    ada.evaluate(CANCEL_WHEN, "moving")

    # When Ada sends a 16 MiB file
    send_file(ada, big_file(tmp_path))

    # Then Grace hears it was the sender, Ada that it was her, and nothing is offered for download
    expect(grace.get_by_test_id("file-status")).to_contain_text("From Ada: cancelled by the sender", timeout=TIMEOUT_MS)
    expect(ada.get_by_test_id("file-status")).to_contain_text("To Grace: cancelled by you")
    assert sent_bytes(ada) < BIG // 2
    expect(grace.get_by_test_id("file-download")).to_have_count(0)


def test_a_second_file_start_during_a_receive_is_refused_and_said(new_page: NewPage, tmp_path: Path) -> None:
    ada, grace = two_person_call(new_page)
    grace_id = ada.evaluate("() => [...parley.call.peers.keys()][0]")
    # Given Ada's page listens for what Grace says on the file channel
    ada.evaluate(
        """id => {
            window.__fileReplies = [];
            const channel = parley.call.peers.get(id).peer.channels.file;
            channel.addEventListener('message', ({data}) => {
                if (typeof data === 'string') window.__fileReplies.push(JSON.parse(data));
            });
        }""",
        grace_id,
    )
    # When a file is under way and a second file-start arrives before its file-end (what a faulty client would do)
    payload = os.urandom(BIG)
    first = tmp_path / "first.bin"
    first.write_bytes(payload)
    ada.evaluate(
        """id => new MutationObserver((_, observer) => {
            const status = document.querySelector('[data-testid=file-status]');
            if (!status || !/\\d+%/.test(status.textContent)) return;
            observer.disconnect();
            parley.call.peers.get(id).peer.channels.file.send(JSON.stringify({
                type: 'file-start', id: 'second', name: 'second.txt', size: 3, mime: 'text/plain',
                sha256: '0'.repeat(64), chunkSize: 16384}));
        }).observe(document.getElementById('chat-log'), {subtree: true, childList: true})""",
        grace_id,
    )
    send_file(ada, first)

    # Then Grace refuses it on the wire and says so on screen, and the first file still arrives whole
    ada.wait_for_function(
        "() => window.__fileReplies.some(m => m.type === 'file-cancel' && m.id === 'second' && m.reason === 'busy')",
        timeout=TIMEOUT_MS,
    )
    expect(grace.get_by_test_id("chat-log")).to_contain_text("tried to send second.txt", timeout=TIMEOUT_MS)
    expect(grace.get_by_test_id("chat-log")).to_contain_text("it was refused")
    expect(grace.get_by_test_id("file-card")).to_have_count(1)
    expect(grace.get_by_test_id("file-status")).to_contain_text("received · SHA-256 verified", timeout=TIMEOUT_MS)
    expect(ada.get_by_test_id("file-status")).to_contain_text("delivered · SHA-256 verified", timeout=TIMEOUT_MS)
    check_accessibility(grace, "files (a refusal said in the chat)")


def test_a_received_html_file_is_a_download_never_a_page_and_leaves_memory_with_the_call(
    new_page: NewPage, tmp_path: Path
) -> None:
    ada, grace = two_person_call(new_page)
    # When Ada sends an HTML file (the browser labels it text/html)
    page = tmp_path / "page.html"
    page.write_text("<script>window.top.__owned = true</script><h1>hello</h1>")
    send_file(ada, page)
    expect(grace.get_by_test_id("file-status")).to_contain_text("received · SHA-256 verified", timeout=TIMEOUT_MS)

    # Then Grace's link downloads it, and what it points at is neutral bytes, not text/html
    link = grace.get_by_test_id("file-download")
    expect(link).to_have_attribute("download", "page.html")
    href = link.get_attribute("href") or ""
    assert href.startswith("blob:")
    # Opened directly (a new tab on the link), the browser saves it instead of rendering it in the app's origin
    assert opening_downloads(grace, href)
    with grace.expect_download() as download_info:
        link.click()
    assert download_info.value.suggested_filename == "page.html"
    assert grace.evaluate("() => window.__owned === undefined")

    # When Grace hangs up, the file's URL is revoked and the ended call is not reachable any more
    grace.get_by_test_id("hangup-button").click()
    expect(grace.get_by_test_id("rejoin-button")).to_be_visible()
    assert grace.evaluate("() => window.parley.call") is None
    assert not opening_downloads(grace, href)


def test_a_file_under_way_with_its_cancel_button_is_accessible(new_page: NewPage) -> None:
    ada, grace = two_person_call(new_page)
    # Given a file-start whose chunks never come (sent on Ada's file channel by hand), Grace's card stays under way
    grace_id = ada.evaluate("() => [...parley.call.peers.keys()][0]")
    ada.evaluate(
        """id => parley.call.peers.get(id).peer.channels.file.send(JSON.stringify({
            type: 'file-start', id: 'stalled', name: 'stalled.txt', size: 3, mime: 'text/plain',
            sha256: '0'.repeat(64), chunkSize: 16384}))""",
        grace_id,
    )
    cancel = grace.get_by_test_id("file-cancel")
    expect(cancel).to_be_visible(timeout=TIMEOUT_MS)
    # Then the card with its progress bar and Cancel button passes axe
    check_accessibility(grace, "file under way")
    # And the Cancel button works from the keyboard
    cancel.focus()
    grace.keyboard.press("Enter")
    expect(grace.get_by_test_id("file-status")).to_contain_text("From Ada: cancelled by you", timeout=TIMEOUT_MS)
    expect(cancel).to_have_count(0)
