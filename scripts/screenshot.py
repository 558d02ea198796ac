#!/usr/bin/env python
"""docs/chat-{desktop,phone}-{de,en}.png: the chat page after answering a question, in German and English, on a
desktop (with the cited article open) and a phone, taken with Debian's chromium through Playwright.

    python scripts/screenshot.py [--url http://127.0.0.1:8000] [--out-dir docs]

Without --url `rag serve` is started on a free port over RAG_INDEX_DIR (built from seeds/ if missing).
"""
from __future__ import annotations

import argparse
import tempfile
from contextlib import nullcontext
from pathlib import Path

from common import CHROMIUM, CHROMIUM_ARGS, ROOT, ServeProcess, callers_settings

QUESTIONS = {"de": "Welche Pipeline will Putin vorantreiben?", "en": "Which pipeline does Putin want to build?"}
LOCALES = {"de": "de-DE", "en": "en-US"}
SCREENS = {"desktop": {"viewport": {"width": 1280, "height": 800}},
           "phone": {"viewport": {"width": 390, "height": 780}, "is_mobile": True, "has_touch": True,
                     "device_scale_factor": 2}}


def local_server(log: Path) -> ServeProcess:
    """`rag serve` with the caller's settings over RAG_INDEX_DIR, which it builds from seeds/ when missing."""
    from rag.settings import Settings

    return ServeProcess(Settings().index_dir.resolve(), log, **callers_settings()).start(timeout=600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running service; default: start one here")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as work, \
            (nullcontext() if args.url else local_server(Path(work) / "serve.log")) as server, \
            sync_playwright() as playwright:
        url = args.url or server.url
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        for screen, options in SCREENS.items():
            for language, question in QUESTIONS.items():
                out = args.out_dir / f"chat-{screen}-{language}.png"
                shoot(browser.new_context(locale=LOCALES[language], **options), url, question, screen == "desktop", out)
                print(f"wrote {out}")
        browser.close()


def shoot(context, url: str, question: str, open_article: bool, out: Path) -> None:
    """The page after ``question``, with its first citation's article open when ``open_article``."""
    page = context.new_page()
    page.goto(url)
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.wait_for_selector(".turn:last-child .reply:not(.loading)", timeout=120_000)
    cite = page.locator(".turn:last-child .answer a.cite").first
    if open_article and cite.count():
        cite.click()
        page.locator("#doc-text mark").wait_for()
    page.screenshot(path=str(out))
    context.close()


if __name__ == "__main__":
    main()
