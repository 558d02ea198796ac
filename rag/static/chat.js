// The chat page: questions go to POST /ask, citations open GET /documents/{id} with the span highlighted.
// Every text that comes from the server is inserted with textContent / text nodes, never as HTML.
// Offsets from the server count Unicode code points; JavaScript strings count UTF-16 units: see codeUnitIndex.
"use strict";

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
  let busy = false;
  let docRequest = 0;
  let opener = null; // the link that opened the article panel: focus returns to it when the panel closes
  const STORAGE_KEY = "rag-news.conversation"; // questions and replies, kept across a reload
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
  function setLanguage(node, docId) {
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

  function snippet(text, limit) {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length > limit ? flat.slice(0, limit - 1) + "…" : flat;
  }

  function errorText(data, status) {
    const detail = data && data.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((item) => item.msg || JSON.stringify(item)).join("; ");
    return `the server answered ${status}`;
  }

  async function getJSON(url, options) {
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      throw new Error("the server cannot be reached");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) throw new Error(errorText(data, response.status));
    if (data === null) throw new Error("the server sent no JSON");
    return data;
  }

  function documentLink(docId, start, end) {
    const params = new URLSearchParams({ doc: docId, start: String(start), end: String(end) });
    return "#" + params.toString();
  }

  // A citation "[n]": a link to the document with the span [start, end) highlighted.
  function citation(number, docId, start, end, label) {
    const link = el("a", "cite", `[${number}]`);
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

  function renderPassages(passages, numbers) {
    const list = el("ol", "passages");
    for (const passage of passages) {
      const item = el("li", "passage");
      item.dataset.passageId = passage.id;
      item.append(citation(numbers.get(passage.id), passage.doc_id, passage.start, passage.end,
        `open ${passage.title || "the article"} at this passage`));
      const body = el("div", "passage-body");
      const text = el("span", "passage-text", snippet(passage.text, 240));
      setLanguage(text, passage.doc_id);
      body.append(el("span", "passage-title", passage.title || passage.doc_id), document.createTextNode(" "), text);
      item.append(body);
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
    confidence.append(bar, document.createTextNode(`confidence ${percent} %`));
    confidence.title = `score ${answer.score}`;
    const copy = el("button", "copy", "Copy");
    copy.type = "button";
    copy.title = "Copy the answer with its source";
    copy.addEventListener("click", async () => {
      const text = `"${answer.text}" (${source.textContent}, ${answer.doc_id} [${answer.start}:${answer.end}])`;
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = "Copied";
      } catch (error) {
        copy.textContent = "Copy failed";
      }
    });
    footer.append(confidence, citation(number, answer.doc_id, answer.start, answer.end,
      `open the article at the answer`), copy);
    card.append(footer);
    return card;
  }

  function renderReply(container, data) {
    container.className = "reply";
    container.removeAttribute("aria-busy");
    container.replaceChildren();
    const numbers = new Map(data.passages.map((passage, i) => [passage.id, i + 1]));
    if (data.no_answer) {
      container.classList.add("unanswered");
      container.append(el("p", "no-answer", "No answer found in the articles."));
    } else {
      const answers = el("div", "answers");
      for (const answer of data.answers) {
        answers.append(renderAnswer(answer, numbers.get(answer.passage_id) || "?"));
      }
      container.append(answers);
    }
    if (data.passages.length) {
      const heading = data.no_answer ? "Closest passages" : "Sources";
      const details = el("details", "sources");
      details.open = data.no_answer;
      details.append(el("summary", null, `${heading} (${data.passages.length})`), renderPassages(data.passages, numbers));
      container.append(details);
    }
    const total = data.timings_ms && data.timings_ms.total;
    if (typeof total === "number") container.append(el("p", "timing", `${Math.round(total)} ms`));
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
    reply.replaceChildren(el("span", "spinner"), el("span", null, "Searching the articles…"));
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
      const retry = el("button", "retry", "Retry");
      retry.type = "button";
      retry.addEventListener("click", () => { if (!busy) ask(question, turn); });
      reply.replaceChildren(el("strong", null, "Error: "), document.createTextNode(error.message + " "), retry);
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
    docTitle.textContent = "Loading…";
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
      docTitle.textContent = "Document unavailable";
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

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });
  $("doc-close").addEventListener("click", closeDocument);
  $("clear").addEventListener("click", clearConversation);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !docView.hidden) closeDocument();
  });
  window.addEventListener("hashchange", openFromHash);
  restoreConversation();
  openFromHash();
  input.focus();
})();
