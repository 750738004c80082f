"""Real headless Chromium against the real local stack (iceServers: [], or only the local coturn in the TURN tests):
pages get a fake camera and microphone, index.html carries the production Content-Security-Policy (as a meta tag),
and every CSP violation or uncaught page error fails the test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from bench import coturn as turnserver
from bench.chromium import CHROMIUM, CHROMIUM_FLAGS
from tests.e2e.helpers import check_accessibility

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TIMEOUT_MS = 15_000

# Records CSP violations and page errors where the test can read them.
WATCH = """
window.__problems = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.__problems.push(`CSP ${e.violatedDirective} ${e.blockedURI}`));
window.addEventListener('error', (e) => window.__problems.push(`error ${e.message}`));
window.addEventListener('unhandledrejection', (e) => window.__problems.push(`rejection ${e.reason}`));
"""

pytestmark = pytest.mark.browser


def _skip_without_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if not os.environ.get("PARLEY_IN_LOOPBACK_NS"):
        pytest.skip("browser tests run inside scripts/loopback-only (WebRTC must stay on loopback)")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    _skip_without_chromium()
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser, local_stack: Any) -> Iterator[NewPage]:
    """new_page(path="/", name="Ada", watch=None, **context_options): a page in its own browser context (own fake
    camera). `watch(page)` runs before the page loads, so a listener it adds sees everything from the first request
    (the lobby opens its signaling socket while the page loads)."""
    contexts: list[BrowserContext] = []

    def open_page(
        path: str = "/", name: str | None = None, watch: Callable[[Page], None] | None = None, **options: Any
    ) -> Page:
        options.setdefault("permissions", ["camera", "microphone"])
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = browser.new_context(**options)
        contexts.append(context)
        context.add_init_script(WATCH)
        if name is not None:
            context.add_init_script(f"localStorage.setItem('parley.name', {name!r});")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        if watch is not None:
            watch(page)
        page.goto(local_stack.http_url + path)
        if options.get("permissions"):  # the lobby, once its device pickers are filled
            page.wait_for_function("() => window.parley && document.querySelector('#camera-select option')")
            check_accessibility(page, "lobby")
        return page

    yield open_page
    for context in contexts:
        problems = _problems(context)
        context.close()
        assert not problems, f"the page reported problems: {problems}"


def _problems(context: BrowserContext) -> list[str]:
    found: list[str] = []
    for page in context.pages:
        if not page.is_closed():
            found += page.evaluate("window.__problems || []")
    return found


@pytest.fixture(scope="session")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[turnserver.Coturn]:
    """A real coturn on 127.0.0.1 with `use-auth-secret` and a secret of its own (turnserver.start)."""
    _skip_without_chromium()  # it serves the browser tests, which run only inside the loopback-only namespace
    server = turnserver.start(tmp_path_factory.mktemp("coturn"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def save_readme_image(source: Path) -> None:
    """Refresh the README's screenshot only when asked (PARLEY_UPDATE_README_IMAGE=1 make test): a test run must not
    leave the work tree changed. The suite's own copy is always in tests/artifacts/."""
    if os.environ.get("PARLEY_UPDATE_README_IMAGE") != "1":
        return
    images = Path(__file__).resolve().parents[2] / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, images / source.name)
