"""HTML and PDF articles: their text extracted (offsets point into it), title, date and author from the file."""
import logging

from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.corpus.files import read_article, read_folder

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüß", min_size=2, max_size=8)
# paragraphs of one PDF line each (a wrapped line gains a break in the text layer)
PARAGRAPHS = st.lists(st.lists(WORDS, min_size=4, max_size=8).map(lambda ws: " ".join(ws).capitalize() + "."),
                      min_size=2, max_size=5, unique=True)  # a page repeating a paragraph shows it once


def html_page(title: str, paragraphs: list[str], date: str = "2023-02-22", author: str = "Anna Muster") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<html lang="de"><head><title>{title} | Zeitung</title><meta property="og:title" content="{title}">'
            f'<meta name="author" content="{author}"><meta property="article:published_time" content="{date}T10:00:00">'
            f'</head><body><nav><a href="/">Startseite</a> <a href="/p">Politik</a></nav><article><h1>{title}</h1>'
            f'{body}</article><footer>© Zeitung · Impressum · Datenschutz</footer></body></html>')


def pdf_file(path, title: str, paragraphs: list[str], author: str = "Anna Muster") -> None:
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def test_html_gives_the_article_text_and_the_pages_title_date_and_author(tmp_path):
    path = tmp_path / "putin.html"
    path.write_text(html_page("Putin trifft Xi in Peking", ["Putin ist am Montag in Peking eingetroffen.",
                                                            "Lawrow sprach von einer echten Allianz."]), "utf-8")
    document = read_article(path)
    assert "Putin ist am Montag in Peking eingetroffen." in document.text
    assert "Startseite" not in document.text and "Impressum" not in document.text
    assert document.title == document.meta["title"] == "Putin trifft Xi in Peking"
    assert (document.meta["date"], document.meta["author"], document.meta["language"]) == ("2023-02-22",
                                                                                          "Anna Muster", "de")


def test_pdf_gives_its_text_layer_title_and_author(tmp_path):
    path = tmp_path / "report.pdf"
    pdf_file(path, "Bericht aus Peking", ["Der Besuch dauerte drei Tage.", "Man sprach über Handel und Energie."])
    document = read_article(path)
    assert "Der Besuch dauerte drei Tage." in document.text and "Handel und Energie" in document.text
    assert (document.title, document.meta["author"]) == ("Bericht aus Peking", "Anna Muster")


@given(PARAGRAPHS)
@settings(max_examples=15, deadline=None, database=None)
def test_every_paragraph_of_a_page_is_cut_exactly_from_the_extracted_text(tmp_path_factory, paragraphs):
    folder = tmp_path_factory.mktemp("formats")
    (folder / "a.html").write_text(html_page("Ein Titel", paragraphs), "utf-8")
    pdf_file(folder / "b.pdf", "Ein Titel", paragraphs)
    for document in read_folder(folder):
        position = 0
        for paragraph in paragraphs:  # found in order, each exactly once where it stands
            start = document.text.index(paragraph, position)
            assert document.text[start:start + len(paragraph)] == paragraph
            position = start + len(paragraph)


def test_other_types_are_named_in_a_warning_and_broken_files_skipped(tmp_path, caplog):
    (tmp_path / "a.txt").write_text("Ein Artikel über Peking.", "utf-8")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (tmp_path / "empty.html").write_text("<html><head><title>Nichts</title></head><body></body></html>", "utf-8")
    with caplog.at_level(logging.WARNING):
        assert [d.id for d in read_folder(tmp_path)] == ["a"]
    for name in ["notes.docx", "broken.pdf", "empty.html"]:
        assert any(name in record.message for record in caplog.records), name


def test_one_file_can_be_read_alone(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("# Titel\n\nEin Artikel über Peking.", "utf-8")
    assert [d.id for d in read_folder(path)] == ["a"]


def test_a_given_title_wins_over_the_first_line():
    from rag.corpus.files import make_document

    document = make_document("a", "Erste Zeile des Textes.\nZweiter Satz.", title="Der Titel")
    assert document.title == document.meta["title"] == "Der Titel"


def test_a_folder_without_articles_leaves_an_empty_index_that_says_how_to_fill_it(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rag.cli import cli

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "scan.tiff").write_bytes(b"II*\x00")
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(tmp_path / "docs")])
    assert result.exit_code == 0 and "the index is empty: add articles with: rag ingest" in result.output
    result = runner.invoke(cli, ["ask", "Wer?"])
    assert result.exit_code == 1 and "is empty: add articles with: rag ingest" in result.output
    result = runner.invoke(cli, ["ingest", str(tmp_path / "seeds")])
    assert result.exit_code == 1 and "no such file or folder" in result.output
