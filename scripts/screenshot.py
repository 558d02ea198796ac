#!/usr/bin/env python
"""docs/chat.png: the chat page after answering a question, taken with Debian's chromium through Playwright.

    python scripts/screenshot.py [--url http://127.0.0.1:8000] [--out docs/chat.png]

Without --url `rag serve` is started on a free port over RAG_INDEX_DIR (built from seeds/ if missing).
"""
from __future__ import annotations

import argparse
import tempfile
from contextlib import nullcontext
from pathlib import Path

from common import CHROMIUM, CHROMIUM_ARGS, ROOT, ServeProcess, callers_settings

QUESTION = "Welche Pipeline will Putin vorantreiben?"


def local_server(log: Path) -> ServeProcess:
    """`rag serve` with the caller's settings over RAG_INDEX_DIR, which it builds from seeds/ when missing."""
    from rag.settings import Settings

    return ServeProcess(Settings().index_dir.resolve(), log, **callers_settings()).start(timeout=600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running service; default: start one here")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "chat.png")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as work, \
            (nullcontext() if args.url else local_server(Path(work) / "serve.log")) as server, \
            sync_playwright() as playwright:
        url = args.url or server.url
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(url.rstrip("/") + "/")
        page.fill("#question", args.question)
        page.press("#question", "Enter")
        page.wait_for_selector(".turn:last-child .reply:not(.loading)", timeout=120_000)
        cite = page.locator(".turn:last-child .answer a.cite").first
        if cite.count():
            cite.click()
            page.locator("#doc-text mark").wait_for()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
