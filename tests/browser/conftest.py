"""The real app served by uvicorn on a free local port, and Debian's chromium driven by Playwright (no downloads)."""
from __future__ import annotations

import shutil

import pytest

from scripts.common import CHROMIUM, CHROMIUM_ARGS

from ..servers import ThreadServer


@pytest.fixture(scope="module")
def live_server(seeded_pipeline, seeded_index_dir, tmp_path_factory):
    """The service over a private copy of the seeded index, at ``live_server.url``."""
    from rag.api import create_app
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    folder = tmp_path_factory.mktemp("browser-index") / "index"
    shutil.copytree(seeded_index_dir, folder)
    settings = Settings(index_dir=folder)
    with ThreadServer(create_app(settings, Pipeline(settings, embedder=seeded_pipeline.embedder))) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}: apt-get install chromium chromium-driver")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no `playwright install`)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})  # the page follows it
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/")
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
