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
  let busy = false;
  let docRequest = 0;

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

  // Text nodes around a <mark> holding text[start:end) (code points); returns {fragment, mark}.
  function highlighted(text, start, end, markClass) {
    const from = codeUnitIndex(text, Math.max(0, start));
    const to = from + codeUnitIndex(text.slice(from), Math.max(0, end - start));
    const fragment = document.createDocumentFragment();
    const mark = el("mark", markClass, text.slice(from, to));
    fragment.append(document.createTextNode(text.slice(0, from)), mark, document.createTextNode(text.slice(to)));
    return { fragment, mark };
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
        `open passage ${passage.id}`));
      const body = el("div", "passage-body");
      body.append(el("span", "passage-title", passage.title || passage.doc_id),
        el("span", "passage-text", snippet(passage.text, 240)));
      item.append(body);
      list.append(item);
    }
    return list;
  }

  function renderAnswer(answer, number) {
    const card = el("article", "answer");
    const quote = el("blockquote", "context");
    const { fragment } = highlighted(answer.context.text, answer.start - answer.context.start,
      answer.end - answer.context.start, "extract");
    quote.append(fragment);
    card.append(quote);
    const footer = el("footer", "answer-meta");
    const percent = Math.round(Math.max(0, Math.min(1, answer.score)) * 100);
    const confidence = el("span", "confidence");
    const bar = el("span", "confidence-bar");
    const fill = el("span", "confidence-fill");
    fill.style.width = `${percent}%`;
    bar.append(fill);
    confidence.append(bar, document.createTextNode(`confidence ${percent} %`));
    confidence.title = `score ${answer.score}`;
    footer.append(confidence, citation(number, answer.doc_id, answer.start, answer.end,
      `open ${answer.doc_id} at the answer`));
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

  async function ask(question) {
    const hint = $("hint");
    if (hint) hint.remove();
    const turn = el("li", "turn");
    turn.append(el("p", "question", question));
    const reply = el("div", "reply loading");
    reply.setAttribute("aria-busy", "true");
    reply.append(el("span", "spinner"), el("span", null, "Searching the articles…"));
    turn.append(reply);
    conversation.append(turn);
    turn.scrollIntoView({ block: "end" });
    setBusy(true);
    try {
      const data = await getJSON("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question }),
      });
      renderReply(reply, data);
    } catch (error) {
      reply.className = "reply error";
      reply.removeAttribute("aria-busy");
      reply.replaceChildren(el("strong", null, "Error: "), document.createTextNode(error.message));
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
    docView.classList.add("loading");
    docTitle.textContent = "Loading…";
    docMeta.textContent = docId;
    docText.replaceChildren();
    try {
      const data = await getJSON("/documents/" + encodeURIComponent(docId));
      if (request !== docRequest) return;
      docTitle.textContent = data.title || data.id;
      const meta = data.meta || {};
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

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });
  $("doc-close").addEventListener("click", closeDocument);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !docView.hidden) closeDocument();
  });
  window.addEventListener("hashchange", openFromHash);
  openFromHash();
  input.focus();
})();
