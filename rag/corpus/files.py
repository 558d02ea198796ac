"""Reading articles: the text stays exactly as read; title, date, author, source and boilerplate are found beside it.

Boilerplate (navigation, ads, "Mehr zum Thema" blocks, repeated captions or paragraphs, by-lines) is recorded as
spans in ``meta["boilerplate"]``; chunking leaves those spans out. Inline link markup like ``[Rede](#)`` stays in
the text and is masked only for embedding (see ``rag.text.searchable_text``).
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput
from ..text import GERMAN_MONTHS
from ..types import Document, Span
from . import convert
from .language import detect_language
from .shard import Shard

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md")
SUFFIXES = TEXT_SUFFIXES + convert.SUFFIXES  # what `rag ingest` reads; other files are named in a warning
COMPUTED_META = ("boilerplate", "sha256")  # derived from the text; a caller's values for them are ignored
MAX_FILE_BYTES = 50 * 1024 * 1024

_MONTHS = ("Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|"
           "January|February|March|May|June|July|October|December")
DATE_PATTERNS = [
    re.compile(r"\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})\b"),
    re.compile(rf"\b(?P<d>\d{{1,2}})\.? (?P<mn>{_MONTHS}) (?P<y>\d{{4}})\b"),
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
]
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(GERMAN_MONTHS)}
_MONTH_NUMBER.update({"January": 1, "February": 2, "March": 3, "May": 5, "June": 6, "July": 7,
                      "October": 10, "December": 12})

# Whole lines that are site furniture, not article text.
NAVIGATION = re.compile(r"^\s*(zum inhalt|skip to content|\d{1,2}\.\s+startseite|startseite|home|kommentare|aktuelles|"
                        r"details zur meldung|unsere partner|teilen|drucken|newsletter)\s*$", re.I)
BLOCK_START = re.compile(r"^\s*(mehr zum thema|lesen sie auch|lesen sie mehr|das könnte sie auch interessieren|"
                         r"related|read more|see also|anzeige|werbung|advertisement)\s*:?\s*$", re.I)
SOURCE_LINE = re.compile(r"^\s*(quelle|source|mit material von)\s*:\s*(?P<source>.+?)\s*$", re.I)
BYLINE = re.compile(r"^\s*(?P<date>[^|]{6,40}?)\s*\|\s*(?P<author>[^|]{2,80}?)\s*$")
BREADCRUMB = re.compile(r"^\s*\d{1,2}\.\s+\S.{0,80}$")
BREADCRUMB_NUMBER = re.compile(r"^\s*\d{1,2}\.\s+")
CAPTION_CREDIT = re.compile(r"(Foto|Bild|Photo|Image)\s*:\s*[\w/ .,&-]{2,60}$")
DATELINE = re.compile(r"\b(Stand|Aktualisiert|Updated|Published|Veröffentlicht)\s*:?\s*\d{1,2}\.\d{1,2}\.\d{4}", re.I)
TRUNCATED = re.compile(r"(\.\.\.|…)\s*$")
AUTHOR_BEFORE_DATE = re.compile(
    r"(?P<author>[A-ZÄÖÜ][\w-]+ [A-ZÄÖÜ][\w-]+(?:, [A-ZÄÖÜ][\w-]+ [A-ZÄÖÜ][\w-]+)*)\s+\d{1,2}\.\d{1,2}\.\d{4}")


@dataclass
class Line:
    start: int
    end: int  # without the line break
    text: str


def read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"{path}: unreadable ({error.strerror or error})") from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return data


def read_file(path: Path) -> str:
    """The text of one UTF-8 article; raises InvalidInput with the reason when it can't be one."""
    data = read_bytes(path)
    if b"\x00" in data[:8192]:
        raise InvalidInput(f"{path}: binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{path}: not UTF-8 (byte {error.start})") from None
    if not text.strip():
        raise InvalidInput(f"{path}: empty")
    return text


def read_article(path: Path) -> Document:
    """One article file: a text file as it is, an HTML page or a PDF as its extracted text (rag/corpus/convert.py)."""
    meta = {"path": str(path)}
    if path.suffix.lower() in convert.SUFFIXES:
        converted = convert.convert(path, read_bytes(path))
        return make_document(document_id(path), converted.text, converted.meta.get("title"), {**converted.meta, **meta})
    return make_document(document_id(path), read_file(path), meta=meta)


def document_id(path: Path) -> str:
    """The id of the article read from ``path``: its file name without the suffix."""
    return path.stem


def find_files(folder: Path) -> list[Path]:
    """The article files under ``folder`` (or ``folder`` itself, a file), never following a link that leaves it;
    files of other types are named in a warning."""
    root = folder.resolve()
    if root.is_file():
        if root.suffix.lower() not in SUFFIXES:
            raise InvalidInput(f"{folder}: not an article file ({', '.join(SUFFIXES)})")
        return [folder]
    if not root.is_dir():
        raise InvalidInput(f"{folder}: no such file or folder")
    files = []
    for path in sorted(root.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        if hidden or path.name.lower() == "readme.md" or path.is_dir():
            continue
        if path.suffix.lower() not in SUFFIXES:
            log.warning("skipped %s: not an article file (%s)", path, ", ".join(SUFFIXES))
            continue
        real = path.resolve()
        if not real.is_relative_to(root):
            log.warning("skipped %s: it points outside %s", path, folder)
            continue
        if real.is_file():
            files.append(path)
    return files


def read_folder(folder: Path, shard: Shard | None = None) -> list[Document]:
    """Every readable article of ``folder`` (or the one file it names), or those of its ``shard`` only; each unusable
    file is skipped with a warning that names it."""
    documents = []
    for path in find_files(folder):
        if shard and not shard.owns(document_id(path)):
            continue
        try:
            documents.append(read_article(path))
        except InvalidInput as error:
            log.warning("skipped %s", error)
    return documents


def make_document(doc_id: str, text: str, title: str | None = None, meta: dict | None = None) -> Document:
    """A Document whose meta holds what the text shows: title, date, author, source, boilerplate spans."""
    if not doc_id or "#" in doc_id or doc_id.strip() != doc_id:
        raise InvalidInput(f"invalid document id {doc_id!r}: non-empty, no '#', no surrounding spaces")
    if not text.strip():
        raise InvalidInput(f"document {doc_id!r} has no text")
    found = {**analyse(text), "language": detect_language(text)}
    given = {k: v for k, v in (meta or {}).items() if k not in COMPUTED_META}
    meta = {**found, **given, **({"title": title} if title else {}), "sha256": content_hash(text)}
    return Document(id=doc_id, text=text, title=meta.get("title") or doc_id, meta=meta)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def lines_of(text: str) -> list[Line]:
    lines, start = [], 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        lines.append(Line(start, start + len(body), body))
        start += len(raw)
    return lines


def analyse(text: str) -> dict:
    """Title, date, author, source and the boilerplate spans of an article's text."""
    lines = lines_of(text)
    meta: dict = {}
    boiler: list[Span] = []
    seen: set[str] = set()
    full_lines = [line.text.strip() for line in lines]
    crumbs: list[str] = []  # navigation and breadcrumb lines ("4. Russland und China: Putin und Xi …")
    in_block = False
    at_top = True
    for i, line in enumerate(lines):
        stripped = line.text.strip()
        if not stripped:
            continue
        key = re.sub(r"\s+", " ", stripped)
        junk = False
        if BLOCK_START.match(stripped):
            in_block, junk = True, True
        elif (in_block and len(stripped) < 120 and not stripped.endswith((".", "“", '"'))
              or in_block and len(stripped) < 60):
            junk = True  # teaser lines inside an ad or link block
        else:
            in_block = False
        if NAVIGATION.match(stripped) or (at_top and BREADCRUMB.match(stripped)):
            junk = True
            crumbs.append(BREADCRUMB_NUMBER.sub("", stripped))
        if source := SOURCE_LINE.match(stripped):
            meta.setdefault("source", source["source"])
            junk = True
        if (byline := BYLINE.match(stripped)) and find_date(byline["date"]):
            meta.setdefault("date", find_date(byline["date"]))
            meta.setdefault("author", byline["author"])
            junk = True
        if DATELINE.search(stripped) and len(stripped) < 200:
            meta.setdefault("date", find_date(stripped[DATELINE.search(stripped).start():]))
            junk = True  # a dateline ("Stand: 22.02.2023 16:00 Uhr"), with the headline when both share the line
        if TRUNCATED.search(stripped) and any(other != stripped and other.startswith(stripped.rstrip(".… "))
                                              for other in full_lines):
            junk = True  # a teaser cut short of a line that follows in full
        if CAPTION_CREDIT.search(stripped) and len(stripped) < 300:
            junk = True
        if key in seen and len(key) > 20:
            junk = True  # a repeated caption, title or paragraph
        seen.add(key)
        if junk:
            boiler.append(Span(line.start, line.end))
        elif not BREADCRUMB.match(stripped):
            at_top = False
            meta.setdefault("_first_line", stripped)
        if junk and DATELINE.search(stripped):
            meta.setdefault("_first_line", stripped)  # the headline shares the dateline's line
    first = meta.pop("_first_line", "")
    if "date" not in meta:
        head = text[:3000]
        if date := find_date(head):
            meta["date"] = date
    if "author" not in meta and (author := AUTHOR_BEFORE_DATE.search(text[:3000])):
        meta["author"] = author["author"]
    title = apart(make_title(first), crumbs)
    if title:
        meta["title"] = title
    meta["boilerplate"] = [[span.start, span.end] for span in merge_spans(boiler)]
    return meta


def make_title(first_line: str) -> str:
    line = re.sub(r"^#+\s*", "", first_line)
    line = re.sub(r"\bdate \d{4}-\d{2}\b", "", line)
    line = re.sub(r"\bStand: .*$", "", line).strip()
    if len(line) <= 160:
        return line
    cut = line[:120].rsplit(" ", 1)[0]
    return cut + " …"


def apart(title: str, crumbs: list[str]) -> str:
    """The breadcrumb item that spells ``title`` with kicker and headline apart ("Russland und China: Putin …" for a
    page's "Russland und ChinaPutin …"), else ``title``."""
    letters = re.sub(r"\W", "", title)
    return next((crumb for crumb in crumbs if letters and re.sub(r"\W", "", crumb) == letters), title)


def find_date(text: str) -> str | None:
    """The first date in ``text`` as ISO yyyy-mm-dd."""
    best = None
    for pattern in DATE_PATTERNS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best.start()):
            best = match
    if best is None:
        return None
    parts = best.groupdict()
    month = int(parts["m"]) if parts.get("m") else _MONTH_NUMBER.get(parts.get("mn") or "", 0)
    day, year = int(parts["d"]), int(parts["y"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def merge_spans(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1].end + 1:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged
