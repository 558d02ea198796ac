// The chat page: questions go to POST /ask, citations open GET /documents/{id} with the span highlighted.
// Every text that comes from the server is inserted with textContent / text nodes, never as HTML.
// Offsets from the server count Unicode code points; JavaScript strings count UTF-16 units: see codeUnitIndex.
// The page speaks German or English (the browser's language, or the reader's choice, kept in localStorage); the
// question limit comes from GET /config; ?debug=1 shows each reply's time.
"use strict";

const WORDS = {
  en: {
    title: "Ask the news",
    subtitle: "Every answer is an extract of an article, with its source.",
    clear: "Clear",
    clearTitle: "Forget this conversation",
    hint: "Ask a question about the articles, e.g.",
    example: "Which pipeline does Putin want to push forward?",
    question: "Question",
    placeholder: "Type a question and press Enter",
    ask: "Ask",
    close: "Close the document",
    searching: "Searching the articles…",
    noAnswer: { // by the reply's no_answer_reason
      not_confident: "No confident answer found in the articles.",
      no_passages: "Nothing in the articles matches the question.",
      speaker_not_named: "The articles found never name the person the question asks about.",
      not_of_the_kind_asked: "No passage found states the number, amount or time asked for.",
    },
    closest: "Closest passages",
    sources: "Sources",
    confidence: (percent) => `confidence ${percent} %`,
    copy: "Copy",
    copied: "Copied",
    copyFailed: "Copy failed",
    copyTitle: "Copy the answer with its source",
    openAnswer: "open the article at the answer",
    openPassage: (title) => `open ${title} at this passage`,
    article: "the article",
    error: "Error: ",
    retry: "Retry",
    unreachable: "the server cannot be reached",
    noJson: "the server sent no JSON",
    status: (status) => `the server answered ${status}`,
    refused: {
      404: "not found",
      413: "the request is too large",
      422: "the question cannot be read",
      429: "too many questions in a short time: please wait a moment",
      503: "the articles cannot be searched right now",
    },
    loading: "Loading…",
    unavailable: "Document unavailable",
    empty: "Type a question first: an empty question has nothing to look for.",
    tooLong: (count, limit) => `The question has ${count} characters; at most ${limit} are allowed. Please shorten it.`,
    count: (count, limit) => `${count} / ${limit}`,
  },
  de: {
    title: "Frag die Nachrichten",
    subtitle: "Jede Antwort ist ein Auszug aus einem Artikel, mit Quelle.",
    clear: "Leeren",
    clearTitle: "Dieses Gespräch vergessen",
    hint: "Stellen Sie eine Frage zu den Artikeln, z. B.",
    example: "Wofür ist Russland laut Lawrow offen?",
    question: "Frage",
    placeholder: "Frage eingeben, dann Enter",
    ask: "Fragen",
    close: "Dokument schließen",
    searching: "Die Artikel werden durchsucht …",
    noAnswer: {
      not_confident: "Keine sichere Antwort in den Artikeln gefunden.",
      no_passages: "Nichts in den Artikeln passt zu der Frage.",
      speaker_not_named: "Die gefundenen Artikel nennen die Person nicht, nach der gefragt wird.",
      not_of_the_kind_asked: "Keine gefundene Passage nennt die gefragte Zahl, Menge oder Dauer.",
    },
    closest: "Nächstliegende Passagen",
    sources: "Quellen",
    confidence: (percent) => `Konfidenz ${percent} %`,
    copy: "Kopieren",
    copied: "Kopiert",
    copyFailed: "Kopieren fehlgeschlagen",
    copyTitle: "Die Antwort mit ihrer Quelle kopieren",
    openAnswer: "den Artikel an der Antwort öffnen",
    openPassage: (title) => `${title} an dieser Stelle öffnen`,
    article: "den Artikel",
    error: "Fehler: ",
    retry: "Erneut versuchen",
    unreachable: "der Server ist nicht erreichbar",
    noJson: "der Server hat kein JSON gesendet",
    status: (status) => `der Server antwortete mit ${status}`,
    refused: {
      404: "nicht gefunden",
      413: "die Anfrage ist zu groß",
      422: "die Frage kann nicht gelesen werden",
      429: "zu viele Fragen in kurzer Zeit: bitte einen Moment warten",
      503: "die Artikel können gerade nicht durchsucht werden",
    },
    loading: "Wird geladen …",
    unavailable: "Dokument nicht verfügbar",
    empty: "Bitte zuerst eine Frage eingeben: Eine leere Frage hat nichts, wonach gesucht werden kann.",
    tooLong: (count, limit) => `Die Frage hat ${count} Zeichen; erlaubt sind höchstens ${limit}. Bitte kürzen Sie sie.`,
    count: (count, limit) => `${count} / ${limit}`,
  },
};

(() => {
  const $ = (id) => document.getElementById(id);
  const conversation = $("conversation");
  const form = $("ask-form");
  const input = $("question");
  const sendButton = $("send");
  const docView = $("document-view");
  const docTitle = $("doc-title");
  const docMeta = $("doc-meta");
  const docText = $("doc-text");
  const hintItem = $("hint");
  const formNote = $("form-note");
  const counter = $("counter");
  let busy = false;
  let maxChars = null; // the question limit of GET /config, once known
  let saidEmpty = false; // an empty question was sent: the note says why nothing happened
  let docRequest = 0;
  let opener = null; // the link that opened the article panel: focus returns to it when the panel closes
  const STORAGE_KEY = "rag-news.conversation"; // questions and replies, kept across a reload
  const LANGUAGE_KEY = "rag-news.language"; // the reader's choice of DE / EN
  const DEBUG = new URLSearchParams(location.search).get("debug") === "1"; // developer details: each reply's time
  const RETRYABLE = (status) => status === 0 || status === 408 || status === 429 || status >= 500; // 0: no reply
  // the start of the next sentence: its end mark, closing quotes or brackets, spaces
  const SENTENCE_END = /[.!?…]["'“”„»«’)\]]*\s+(?=\S)/u;
  const STARTS_SENTENCE = /^[\p{Lu}\p{N}"'„“»«‚(\[]/u;
  let language = chosenLanguage();
  let words = WORDS[language];
  const LOW_CONFIDENCE = 0.5; // answers below it are shown muted
  const documents = new Map(); // doc id -> promise of GET /documents/{id}, asked once per page
  const MARKUP = /\*\*|^#{1,6}[ \t]+|^[ \t]*[-*][ \t]+(?=\S)|\[(?=[^\]\n]*\]\([^)\s]*\))|\]\([^)\s]*\)/gm;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // The UTF-16 index of code point ``cp`` in ``text`` (clamped to the text).
  function codeUnitIndex(text, cp) {
    let i = 0;
    for (let n = 0; n < cp && i < text.length; n++) {
      const c = text.charCodeAt(i);
      const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length &&
        (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      i += pair ? 2 : 1;
    }
    return i;
  }

  // Text nodes for ``text`` with its markdown markup (**, # headings, list bullets, [link](url)) kept but hidden,
  // so that the article reads as prose while every offset still counts the original text.
  function prose(text) {
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(MARKUP)) {
      fragment.append(document.createTextNode(text.slice(last, match.index)), el("span", "markup", match[0]));
      last = match.index + match[0].length;
    }
    fragment.append(document.createTextNode(text.slice(last)));
    return fragment;
  }

  // Text around a <mark> holding text[start:end) (code points), markup hidden; returns {fragment, mark}.
  // With ``inner`` ({start, end}, relative to the text too), that part of the mark is <strong>.
  function highlighted(text, start, end, markClass, inner) {
    const at = (cp) => codeUnitIndex(text, Math.max(0, cp));
    const from = at(start);
    const to = Math.max(from, at(end));
    const fragment = document.createDocumentFragment();
    const mark = el("mark", markClass);
    if (inner && inner.start >= start && inner.end <= end) {
      mark.append(prose(text.slice(from, at(inner.start))), el("strong", "short-answer", text.slice(at(inner.start), at(inner.end))),
        prose(text.slice(at(inner.end), to)));
    } else {
      mark.append(prose(text.slice(from, to)));
    }
    fragment.append(prose(text.slice(0, from)), mark, prose(text.slice(to)));
    return { fragment, mark };
  }

  // GET /documents/{id}, once per document and page.
  function documentInfo(docId) {
    if (!documents.has(docId)) {
      const request = getJSON("/documents/" + encodeURIComponent(docId));
      request.catch(() => documents.delete(docId));
      documents.set(docId, request);
    }
    return documents.get(docId);
  }

  // Marks ``node`` with the language of the document (detected at ingest) once it is known.
  function markLanguage(node, docId) {
    documentInfo(docId).then((data) => {
      const language = data.meta && data.meta.language;
      if (typeof language === "string" && language) node.lang = language;
    }, () => {});
  }

  function codePoints(text) {
    let count = 0;
    for (const _ of text) count++;
    return count;
  }

  // A passage for reading: from its first whole sentence on, without markdown marks, cut to ``limit`` characters.
  // For display only: the passage's offsets stay those of the server's text.
  function snippet(text, limit) {
    let flat = text.replace(MARKUP, "").replace(/\s+/g, " ").trim();
    const end = STARTS_SENTENCE.test(flat) ? null : SENTENCE_END.exec(flat);
    if (end) flat = flat.slice(end.index + end[0].length);
    return flat.length > limit ? flat.slice(0, limit - 1) + "…" : flat;
  }

  function chosenLanguage() {
    let stored = null;
    try {
      stored = localStorage.getItem(LANGUAGE_KEY);
    } catch (error) {
      // storage disabled: follow the browser
    }
    if (stored in WORDS) return stored;
    return (navigator.languages || [navigator.language]).some((tag) => /^de\b/i.test(tag || "")) ? "de" : "en";
  }

  // The page's own words in ``language``; the conversation is drawn again in it.
  function setLanguage(choice) {
    language = choice;
    words = WORDS[choice];
    document.documentElement.lang = choice;
    document.title = `${words.title} · rag-news`;
    for (const node of document.querySelectorAll("[data-text]")) node.textContent = words[node.dataset.text];
    for (const node of document.querySelectorAll("[data-title]")) node.title = words[node.dataset.title];
    for (const node of document.querySelectorAll("[data-label]")) {
      node.setAttribute("aria-label", words[node.dataset.label]);
    }
    for (const node of document.querySelectorAll("[data-placeholder]")) node.placeholder = words[node.dataset.placeholder];
    for (const button of document.querySelectorAll("button.language")) {
      button.setAttribute("aria-pressed", String(button.dataset.language === choice));
    }
    if (!busy) {
      conversation.replaceChildren(hintItem);
      restoreConversation();
    }
    checkLength(false);
  }

  // A failed request: ``status`` 0 when no reply came; ``retryable`` when asking again may succeed.
  class RequestError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
      this.retryable = RETRYABLE(status);
    }
  }

  async function getJSON(url, options) {
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      throw new RequestError(words.unreachable, 0);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) { // said in the reader's language; the server's own words (English) follow in brackets
      const detail = data && data.detail;
      const said = words.refused[response.status] || words.status(response.status);
      throw new RequestError(typeof detail === "string" ? `${said} (${detail})` : said, response.status);
    }
    if (data === null) throw new RequestError(words.noJson, response.status);
    return data;
  }

  // The question's length in characters (code points, after stripping, as the server counts) against the limit;
  // over it, the note says so. With ``submitting``, an empty question says why nothing was sent. True when it may go.
  function checkLength(submitting) {
    const question = input.value.trim();
    const count = codePoints(question);
    const over = maxChars !== null && count > maxChars;
    counter.textContent = maxChars !== null && count > 0 ? words.count(count, maxChars) : "";
    counter.classList.toggle("over", over);
    input.setAttribute("aria-invalid", String(over));
    if (question) saidEmpty = false;
    else if (submitting) saidEmpty = true; // until something is typed
    formNote.textContent = over ? words.tooLong(count, maxChars) : saidEmpty ? words.empty : "";
    return question !== "" && !over;
  }

  function documentLink(docId, start, end) {
    const params = new URLSearchParams({ doc: docId, start: String(start), end: String(end) });
    return "#" + params.toString();
  }

  // A citation ("[n]", or a title): a link to the document with the span [start, end) highlighted.
  function citation(text, docId, start, end, label) {
    const link = el("a", "cite", text);
    link.href = documentLink(docId, start, end);
    link.dataset.docId = docId;
    link.dataset.start = String(start);
    link.dataset.end = String(end);
    link.title = label;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      history.replaceState(null, "", link.getAttribute("href"));
      opener = link;
      openDocument(docId, start, end);
    });
    return link;
  }

  // The passages of a reply, each under its article's title, which opens the article at the passage.
  function renderPassages(passages) {
    const list = el("ul", "passages");
    for (const passage of passages) {
      const item = el("li", "passage");
      item.dataset.passageId = passage.id;
      const title = passage.title || passage.doc_id;
      const link = citation(title, passage.doc_id, passage.start, passage.end, words.openPassage(title));
      link.classList.add("passage-title");
      const text = el("span", "passage-text", snippet(passage.text, 240));
      markLanguage(text, passage.doc_id);
      item.append(link, document.createTextNode(" "), text);
      list.append(item);
    }
    return list;
  }

  function renderAnswer(answer, number) {
    const card = el("article", "answer");
    if (answer.score < LOW_CONFIDENCE) card.classList.add("low");
    const source = el("p", "answer-source", answer.doc_id);
    const quote = el("blockquote", "context");
    const offset = answer.context.start;
    const sentence = answer.sentence || { start: answer.start, end: answer.end };
    const { fragment } = highlighted(answer.context.text, sentence.start - offset, sentence.end - offset, "extract",
      answer.sentence ? { start: answer.start - offset, end: answer.end - offset } : null);
    const before = el("span", "cut", "… ");
    const after = el("span", "cut", " …");
    before.hidden = after.hidden = true;
    quote.append(before, fragment, after);
    card.append(source, quote);
    documentInfo(answer.doc_id).then((data) => {
      const meta = data.meta || {};
      source.textContent = [data.title || data.id, meta.date].filter((part) => typeof part === "string" && part)
        .join(" · ");
      if (typeof meta.language === "string" && meta.language) quote.lang = meta.language;
      before.hidden = answer.context.start <= 0;
      after.hidden = answer.context.end >= codePoints(data.text);
    }, () => {});
    const footer = el("footer", "answer-meta");
    const percent = Math.round(Math.max(0, Math.min(1, answer.score)) * 100);
    const confidence = el("span", "confidence");
    const bar = el("span", "confidence-bar");
    const fill = el("span", "confidence-fill");
    fill.style.width = `${percent}%`;
    bar.append(fill);
    confidence.append(bar, document.createTextNode(words.confidence(percent)));
    confidence.title = `score ${answer.score}`;
    const copy = el("button", "copy", words.copy);
    copy.type = "button";
    copy.title = words.copyTitle;
    copy.addEventListener("click", async () => {
      const text = `"${answer.text}" (${source.textContent}, ${answer.doc_id} [${answer.start}:${answer.end}])`;
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = words.copied;
      } catch (error) {
        copy.textContent = words.copyFailed;
      }
    });
    footer.append(confidence, citation(`[${number}]`, answer.doc_id, answer.start, answer.end, words.openAnswer), copy);
    card.append(footer);
    return card;
  }

  function renderReply(container, data) {
    container.className = "reply";
    container.removeAttribute("aria-busy");
    container.replaceChildren();
    if (data.no_answer) {
      container.classList.add("unanswered");
      // a reply saved before replies gave a reason: "not_confident"
      const why = Object.hasOwn(words.noAnswer, data.no_answer_reason) ? data.no_answer_reason : "not_confident";
      container.append(el("p", "no-answer", words.noAnswer[why]));
    } else {
      const answers = el("div", "answers");
      data.answers.forEach((answer, i) => answers.append(renderAnswer(answer, i + 1))); // cited [1], [2], [3]
      container.append(answers);
    }
    if (data.passages.length) { // collapsed: a click away, never in the way on a phone
      const heading = data.no_answer ? words.closest : words.sources;
      const details = el("details", "sources");
      details.append(el("summary", null, `${heading} (${data.passages.length})`), renderPassages(data.passages));
      container.append(details);
    }
    const total = data.timings_ms && data.timings_ms.total;
    if (DEBUG && typeof total === "number") container.append(el("p", "timing", `${Math.round(total)} ms`));
  }

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    form.classList.toggle("busy", value);
  }

  // The questions and replies of this conversation, kept in localStorage across a reload.
  function saved() {
    try {
      const turns = JSON.parse(localStorage.getItem(STORAGE_KEY) || "[]");
      return Array.isArray(turns) ? turns : [];
    } catch (error) {
      return [];
    }
  }

  function remember(question, data) {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify([...saved(), { question, data }]));
    } catch (error) {
      // storage full or disabled: the conversation is simply not kept
    }
  }

  function clearConversation() {
    localStorage.removeItem(STORAGE_KEY);
    conversation.replaceChildren(hintItem);
    input.focus();
  }

  function addTurn(question) {
    hintItem.remove();
    const turn = el("li", "turn");
    turn.append(el("p", "question", question), el("div", "reply"));
    conversation.append(turn);
    return turn;
  }

  async function ask(question, turn = addTurn(question)) {
    const reply = turn.querySelector(".reply");
    reply.className = "reply loading";
    reply.setAttribute("aria-busy", "true");
    reply.replaceChildren(el("span", "spinner"), el("span", null, words.searching));
    turn.scrollIntoView({ block: "end" });
    setBusy(true);
    try {
      const data = await getJSON("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question }),
      });
      renderReply(reply, data);
      remember(question, data);
    } catch (error) {
      reply.className = "reply error";
      reply.removeAttribute("aria-busy");
      reply.replaceChildren(el("strong", null, words.error), document.createTextNode(error.message + " "));
      if (error.retryable) {
        const retry = el("button", "retry", words.retry);
        retry.type = "button";
        retry.addEventListener("click", () => { if (!busy) ask(question, turn); });
        reply.append(retry);
      }
      if (!input.value.trim()) { // the question comes back, to be corrected or sent again
        input.value = question;
        checkLength(false);
      }
    } finally {
      setBusy(false);
      turn.scrollIntoView({ block: "nearest" });
      input.focus();
    }
  }

  async function openDocument(docId, start, end) {
    const request = ++docRequest;
    docView.hidden = false;
    document.body.classList.add("reading");
    docTitle.focus();
    docView.classList.add("loading");
    docTitle.textContent = words.loading;
    docMeta.textContent = docId;
    docText.replaceChildren();
    try {
      const data = await getJSON("/documents/" + encodeURIComponent(docId));
      if (request !== docRequest) return;
      docTitle.textContent = data.title || data.id;
      const meta = data.meta || {};
      docText.lang = typeof meta.language === "string" ? meta.language : "";
      docMeta.textContent = [meta.date, meta.author, meta.source, data.id]
        .filter((part) => typeof part === "string" && part).join(" · ");
      const { fragment, mark } = highlighted(data.text, start, end, "span");
      mark.id = "highlight";
      docText.replaceChildren(fragment);
      mark.scrollIntoView({ block: "center" });
    } catch (error) {
      if (request !== docRequest) return;
      docTitle.textContent = words.unavailable;
      docText.replaceChildren(el("p", "error", error.message));
    } finally {
      if (request === docRequest) docView.classList.remove("loading");
    }
  }

  function closeDocument() {
    docRequest++;
    docView.hidden = true;
    document.body.classList.remove("reading");
    if (opener && opener.isConnected) opener.focus();
    opener = null;
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  }

  function openFromHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const docId = params.get("doc");
    if (!docId) return;
    const start = parseInt(params.get("start") || "0", 10) || 0;
    const end = parseInt(params.get("end") || "0", 10) || 0;
    openDocument(docId, start, end);
  }

  function restoreConversation() {
    for (const { question, data } of saved()) {
      if (typeof question !== "string" || !data || !Array.isArray(data.passages)) continue;
      renderReply(addTurn(question).querySelector(".reply"), data);
    }
  }

  // GET /config: the question limit the server enforces (without it, the server's 422 still says so).
  async function loadConfig() {
    try {
      const config = await getJSON("/config");
      if (Number.isInteger(config.max_question_chars)) maxChars = config.max_question_chars;
    } catch (error) {
      return;
    }
    checkLength(false);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (busy || !checkLength(true)) return;
    const question = input.value.trim();
    input.value = "";
    checkLength(false);
    ask(question);
  });
  input.addEventListener("input", () => checkLength(false));
  for (const button of document.querySelectorAll("button.language")) {
    button.addEventListener("click", () => {
      try {
        localStorage.setItem(LANGUAGE_KEY, button.dataset.language);
      } catch (error) {
        // storage disabled: the choice holds for this page only
      }
      setLanguage(button.dataset.language);
    });
  }
  $("doc-close").addEventListener("click", closeDocument);
  $("clear").addEventListener("click", clearConversation);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !docView.hidden) closeDocument();
  });
  window.addEventListener("hashchange", openFromHash);
  setLanguage(language); // draws the conversation kept from before
  loadConfig();
  openFromHash();
  input.focus();
})();
