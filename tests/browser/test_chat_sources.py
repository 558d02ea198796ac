"""The chat page says where an answer came from: article title and date, cut contexts marked, the article as prose,
language per document, copy, retry, a conversation kept across reloads, muted weak answers, focus, favicon."""
from __future__ import annotations

import copy
import json

import pytest

from .test_chat import ANSWERED, TIMEOUT, api, ask

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def answered_reply(live_server) -> dict:
    reply = api(live_server, "POST", "/ask", {"question": ANSWERED})
    assert reply["answers"], f"the service gave no answer to {ANSWERED!r}: these tests need one"
    return reply


def answer_with(page, reply: dict) -> None:
    """Asks with the server's /ask replaced by ``reply``."""
    page.route("**/ask", lambda route: route.fulfill(status=200, content_type="application/json",
                                                     body=json.dumps(reply)))
    ask(page, ANSWERED)


def test_answer_card_names_article_and_date_in_the_documents_language(page, live_server, answered_reply):
    ask(page, ANSWERED)
    answer = answered_reply["answers"][0]
    document = api(live_server, "GET", "/documents/" + answer["doc_id"])
    card = page.locator(".turn:last-child .answer").first
    source = card.locator(".answer-source")
    page.wait_for_function("(node) => node.textContent.includes(' · ')", arg=source.element_handle(), timeout=TIMEOUT)
    assert source.inner_text() == f"{document['title']} · {document['meta']['date']}"
    assert card.locator("blockquote").get_attribute("lang") == document["meta"]["language"] == "de"
    assert page.locator("html").get_attribute("lang") == "en"  # the page's own words follow the browser (en-US)


def test_cut_contexts_show_an_ellipsis(page, live_server, answered_reply):
    ask(page, ANSWERED)
    answer = answered_reply["answers"][0]
    length = len(api(live_server, "GET", "/documents/" + answer["doc_id"])["text"])
    card = page.locator(".turn:last-child .answer").first
    page.wait_for_function("(node) => node.textContent.includes(' · ')",
                           arg=card.locator(".answer-source").element_handle(), timeout=TIMEOUT)
    cuts = card.locator(".cut")
    assert cuts.nth(0).is_visible() == (answer["context"]["start"] > 0)
    assert cuts.nth(1).is_visible() == (answer["context"]["end"] < length)
    assert answer["context"]["start"] > 0 or answer["context"]["end"] < length  # the test shows a cut


def test_short_answer_is_bold_inside_its_sentence(page, answered_reply):
    reply = copy.deepcopy(answered_reply)
    answer = reply["answers"][0]
    context = answer["context"]
    answer["sentence"] = {"start": context["start"], "end": context["end"]}
    answer_with(page, reply)
    mark = page.locator(".turn:last-child .answer mark.extract").first
    assert mark.locator("strong").inner_text() == answer["text"]
    assert mark.evaluate("(node) => node.textContent") == context["text"]


def test_article_view_hides_markdown_but_keeps_offsets(page, live_server, answered_reply):
    doc_id = next(d["id"] for d in api(live_server, "GET", "/documents")["documents"]
                  if "**" in api(live_server, "GET", "/documents/" + d["id"])["text"])
    text = api(live_server, "GET", "/documents/" + doc_id)["text"]
    page.goto(f"{live_server.url}/#doc={doc_id}&start=0&end=10")
    page.locator("#doc-text mark").wait_for()
    assert "**" not in page.locator("#doc-text").inner_text()
    assert page.locator("#doc-text").evaluate("(node) => node.textContent") == text


def test_copy_button_copies_the_answer_with_its_source(browser, live_server, answered_reply):
    context = browser.new_context(locale="en-US", permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        ask(page, ANSWERED)
        card = page.locator(".turn:last-child .answer").first
        card.locator("button.copy").click()
        page.wait_for_function("() => document.querySelector('.answer button.copy').textContent === 'Copied'")
        copied = page.evaluate("() => navigator.clipboard.readText()")
        answer = answered_reply["answers"][0]
        assert answer["text"] in copied and f"{answer['doc_id']} [{answer['start']}:{answer['end']}]" in copied
    finally:
        context.close()


def test_retry_after_an_error(page):
    failures = []

    def fail_once(route):
        if failures:
            route.continue_()
        else:
            failures.append(route)
            route.fulfill(status=503, content_type="application/json", body=json.dumps({"detail": "busy"}))

    page.route("**/ask", fail_once)
    ask(page, ANSWERED)
    reply = page.locator(".turn:last-child .reply")
    assert "busy" in reply.inner_text()
    reply.locator("button.retry").click()
    page.locator(".turn:last-child .answer").first.wait_for(timeout=TIMEOUT)
    assert page.locator(".turn").count() == 1


def test_conversation_survives_a_reload_until_cleared(page, answered_reply):
    answer_with(page, answered_reply)
    page.reload()
    assert page.locator(".turn .question").inner_text() == ANSWERED
    assert page.locator(".turn .answer").count() == len(answered_reply["answers"])
    page.click("#clear")
    assert page.locator(".turn").count() == 0
    page.reload()
    assert page.locator(".turn").count() == 0 and page.locator("#hint").is_visible()


def test_weak_answers_are_muted(page, answered_reply):
    reply = copy.deepcopy(answered_reply)
    reply["answers"] = [dict(reply["answers"][0], score=0.94), dict(reply["answers"][0], score=0.2)]
    answer_with(page, reply)
    cards = page.locator(".turn:last-child .answer")
    opacity = "(node) => Number(getComputedStyle(node).opacity)"
    assert cards.first.evaluate(opacity) == 1 and cards.last.evaluate(opacity) < 0.8


def test_sources_keep_title_and_text_apart(page, answered_reply):
    answer_with(page, answered_reply)
    passage = answered_reply["passages"][0]
    item = page.locator(".turn:last-child .passage").first
    assert item.locator(".passage-title").evaluate("(node) => node.textContent") == passage["title"]
    assert item.evaluate("(node) => node.textContent").startswith(passage["title"] + " ")


def test_focus_moves_into_the_article_and_back(page, answered_reply):
    answer_with(page, answered_reply)
    cite = page.locator(".turn:last-child .answer a.cite").first
    cite.focus()
    page.keyboard.press("Enter")
    page.locator("#doc-text mark").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "doc-title"
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.classList.contains('cite')")


def test_favicon_and_no_missing_files(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status >= 400 else None)
    try:
        page.goto(live_server.url + "/")
        page.wait_for_load_state("networkidle")
        icon = page.locator("link[rel=icon]").get_attribute("href")
        assert api_status(live_server, icon) == 200 and missing == []
    finally:
        context.close()


def api_status(server, path: str) -> int:
    import urllib.request

    with urllib.request.urlopen(server.url + path, timeout=30) as response:
        return response.status
