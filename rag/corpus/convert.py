"""Articles that are not plain text: the article text of an HTML page (trafilatura) or a PDF's text layer (pypdf).

The extracted text is what gets indexed and what ``GET /documents/{id}`` returns, so every offset points into it.
Title, date and author come from the page (its metadata, not a guess from the first line) where it gives them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInput

HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
SUFFIXES = HTML_SUFFIXES + PDF_SUFFIXES
PAGE_BREAK = "\n\n"  # between the texts of a PDF's pages


@dataclass
class Converted:
    text: str
    meta: dict = field(default_factory=dict)  # title, date (ISO), author: only those the file states


def convert(path: Path, data: bytes) -> Converted:
    """The article text and stated metadata of an HTML or PDF file's bytes; InvalidInput when it holds no text."""
    converted = html_article(data) if path.suffix.lower() in HTML_SUFFIXES else pdf_article(path, data)
    if not converted.text.strip():
        raise InvalidInput(f"{path}: no article text found")
    return converted


def html_article(data: bytes) -> Converted:
    import trafilatura

    text = trafilatura.extract(data, output_format="txt", include_comments=False, include_tables=True) or ""
    found = trafilatura.extract_metadata(data)
    stated = {"title": found.title, "date": found.date, "author": found.author} if found else {}
    return Converted(text, {key: value for key, value in stated.items() if value})


def pdf_article(path: Path, data: bytes) -> Converted:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        text = PAGE_BREAK.join(page.extract_text() for page in reader.pages)
        info = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError) as error:
        raise InvalidInput(f"{path}: unreadable PDF ({error})") from None
    stated = {"title": info.get("/Title"), "author": info.get("/Author")}
    return Converted(text, {key: str(value).strip() for key, value in stated.items() if value and str(value).strip()})
