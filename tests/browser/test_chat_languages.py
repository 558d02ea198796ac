"""A reader's first questions, in German and in English (the browser's language): the first answer, a reply with no
answer, a question over the limit, an empty submit, a citation; the language switch, a refusal explained in the
reader's language, Retry only where it can help, and no developer timings unless ?debug=1."""
from __future__ import annotations

import json
import re

import pytest

from .test_chat import ANSWERED, UNANSWERABLE, api, ask, document_text

pytestmark = pytest.mark.browser

LOCALES = {"de": "de-DE", "en": "en-US"}
SAYS = {  # the page's words this file checks, per language
    "de": {"title": "Frag die Nachrichten", "confidence": "Konfidenz", "no_answer": "Keine sichere Antwort in den "
           "Artikeln gefunden.", "closest": "Nächstliegende Passagen",
           "speaker_not_named": "Die gefundenen Artikel nennen die Person nicht, nach der gefragt wird.",
           "too_long": "Die Frage hat {} Zeichen",
           "empty": "Bitte zuerst eine Frage eingeben", "close": "Dokument schließen", "retry": "Erneut versuchen",
           "refused": {429: "zu viele Fragen in kurzer Zeit",
                       503: "die Artikel können gerade nicht durchsucht werden"}},
    "en": {"title": "Ask the news", "confidence": "confidence", "no_answer": "No confident answer found in the "
           "articles.", "closest": "Closest passages",
           "speaker_not_named": "The articles found never name the person the question asks about.",
           "too_long": "The question has {} characters",
           "empty": "Type a question first", "close": "Close the document", "retry": "Retry",
           "refused": {429: "too many questions in a short time", 503: "the articles cannot be searched right now"}},
}
UNNAMED_SPEAKER = "Was sagte Baerbock über die Partnerschaft von Russland und China?"  # the articles never name her
SENTENCE_START = re.compile(r"^[A-ZÄÖÜ0-9„“\"»«(]")


@pytest.fixture(params=sorted(LOCALES))
def language(request) -> str:
    return request.param


@pytest.fixture
def reader(browser, live_server, language):
    """A page in a browser whose language is ``language``."""
    context = browser.new_context(locale=LOCALES[language], viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/")
    page.wait_for_function("() => document.documentElement.lang !== ''")
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def asks_sent(page) -> list:
    """The POST /ask requests the page sends from now on."""
    sent = []
    page.on("request", lambda request: sent.append(request) if request.url.endswith("/ask") else None)
    return sent


def test_the_pages_example_question_answers(reader, language):
    example = reader.locator("q[data-text=example]").inner_text()
    ask(reader, example)
    assert reader.locator(".turn:last-child .answer").count() >= 1
    assert SAYS[language]["no_answer"] not in reader.locator(".turn:last-child").inner_text()


def test_first_question_answers_in_the_readers_language(reader, language):
    assert reader.locator("html").get_attribute("lang") == language
    assert reader.locator("h1").inner_text() == SAYS[language]["title"]
    ask(reader, ANSWERED)
    cites = reader.locator(".turn:last-child .answer a.cite")
    assert cites.count() >= 1
    assert cites.all_inner_texts() == [f"[{n}]" for n in range(1, cites.count() + 1)]  # 1, 2, 3: not passage ranks
    assert reader.locator(".turn:last-child .confidence").first.inner_text().startswith(SAYS[language]["confidence"])
    assert reader.locator(".timing").count() == 0  # no developer timings
    assert not reader.locator(".turn:last-child details.sources").evaluate("(node) => node.open")


def test_no_answer_says_why(reader, language):
    ask(reader, UNNAMED_SPEAKER)
    assert reader.locator(".turn:last-child .no-answer").inner_text() == SAYS[language]["speaker_not_named"]


def test_no_answer_says_so_with_the_passages_collapsed(reader, language):
    ask(reader, UNANSWERABLE)
    reply = reader.locator(".turn:last-child .reply")
    assert reply.locator(".no-answer").inner_text() == SAYS[language]["no_answer"]
    assert reply.locator(".answer").count() == 0
    passages = reply.locator(".passage")
    assert passages.count() >= 1 and not passages.first.is_visible()  # collapsed
    summary = reply.locator("details.sources summary")
    assert summary.inner_text().startswith(SAYS[language]["closest"])
    summary.click()
    assert passages.first.is_visible()
    for text in reply.locator(".passage-text").all_inner_texts():
        assert SENTENCE_START.match(text), text  # from a sentence start on
        assert "**" not in text and not text.startswith("#"), text
    titles = reply.locator(".passage-title").all_inner_texts()
    assert titles and not any(re.search(r"[a-zäöü][A-ZÄÖÜ]", title) for title in titles), titles  # nothing glued


def test_too_long_question_is_counted_and_refused(reader, language, live_server):
    limit = api(live_server, "GET", "/config")["max_question_chars"]
    sent = asks_sent(reader)
    question = "Was sagte Lawrow über ein Bündnis mit China? " * (limit // 40)
    question = (question + "x" * limit)[:limit + 1]
    reader.fill("#question", question)
    counter = reader.locator("#counter")
    assert counter.inner_text() == f"{limit + 1} / {limit}" and "over" in counter.get_attribute("class")
    reader.press("#question", "Enter")
    note = reader.locator("#form-note")
    assert note.inner_text().startswith(SAYS[language]["too_long"].format(limit + 1))
    assert reader.locator(".turn").count() == 0 and sent == []
    assert reader.input_value("#question") == question  # kept, to be shortened
    reader.press("#question", "Backspace")
    assert note.inner_text() == "" and counter.inner_text() == f"{limit} / {limit}"


def test_empty_submit_says_why_nothing_happened(reader, language):
    sent = asks_sent(reader)
    reader.fill("#question", "   ")
    reader.press("#question", "Enter")
    assert reader.locator("#form-note").inner_text().startswith(SAYS[language]["empty"])
    assert reader.locator(".turn").count() == 0 and sent == []
    reader.type("#question", "W")
    assert reader.locator("#form-note").inner_text() == ""


def test_citation_opens_the_article_at_the_answer(reader, language, live_server):
    ask(reader, ANSWERED)
    cite = reader.locator(".turn:last-child .answer a.cite").first
    doc_id, start, end = (cite.get_attribute(name) for name in ("data-doc-id", "data-start", "data-end"))
    cite.click()
    mark = reader.locator("#doc-text mark")
    mark.wait_for()
    assert mark.evaluate("(node) => node.textContent") == document_text(live_server, doc_id)[int(start):int(end)]
    assert reader.locator("#doc-close").get_attribute("aria-label") == SAYS[language]["close"]
    assert reader.locator("#doc-title").inner_text() == api(live_server, "GET", f"/documents/{doc_id}")["title"]


def test_the_language_switch_is_remembered(reader, language):
    other = "en" if language == "de" else "de"
    reader.click(f"button.language[data-language={other}]")
    assert reader.locator("html").get_attribute("lang") == other
    assert reader.locator("h1").inner_text() == SAYS[other]["title"]
    assert reader.locator(f"button.language[data-language={other}]").get_attribute("aria-pressed") == "true"
    reader.reload()
    assert reader.locator("h1").inner_text() == SAYS[other]["title"]


@pytest.mark.parametrize(("status", "retry"), [(422, False), (413, False), (429, True), (503, True), (500, True),
                                               (None, True)])
def test_retry_only_where_a_retry_can_succeed(page, status, retry):
    def refuse(route):
        if status is None:
            route.abort()  # the network: no reply at all
        else:
            route.fulfill(status=status, content_type="application/json", body=json.dumps({"detail": "refused here"}))

    page.route("**/ask", refuse)
    ask(page, ANSWERED)
    reply = page.locator(".turn:last-child .reply.error")
    assert reply.locator("button.retry").count() == (1 if retry else 0)
    assert page.input_value("#question") == ANSWERED  # the question is kept after an error


@pytest.mark.parametrize("status", [429, 503])
def test_a_refusal_is_explained_in_the_readers_language(reader, language, status):
    reader.route("**/ask", lambda route: route.fulfill(status=status, content_type="application/json",
                                                       body=json.dumps({"detail": "refused here"})))
    ask(reader, ANSWERED)
    said = reader.locator(".turn:last-child .reply.error").inner_text()
    assert SAYS[language]["refused"][status] in said and "(refused here)" in said  # the server's words kept


def test_timings_only_with_debug(browser, live_server):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/?debug=1")
        ask(page, ANSWERED)
        assert re.fullmatch(r"\d+ ms", page.locator(".turn:last-child .timing").inner_text())
    finally:
        context.close()


def test_answers_in_a_reply_are_cited_in_order(page, live_server):
    reply = api(live_server, "POST", "/ask", {"question": ANSWERED, "max_answers": 3})
    # three answers from the passages ranked 5, 3 and 1
    reply["answers"] = [dict(reply["answers"][0], passage_id=reply["passages"][rank - 1]["id"]) for rank in (5, 3, 1)]
    page.route("**/ask", lambda route: route.fulfill(status=200, content_type="application/json",
                                                     body=json.dumps(reply)))
    ask(page, ANSWERED)
    assert page.locator(".turn:last-child .answer a.cite").all_inner_texts() == ["[1]", "[2]", "[3]"]
