import logging
import os

from hypothesis import given
from hypothesis import strategies as st

from rag.corpus.files import analyse, find_date, make_document, read_folder
from rag.text import content_spans, searchable_text
from rag.types import Document

from .conftest import SEEDS


def seed(doc_id: str) -> Document:
    return next(d for d in read_folder(SEEDS) if d.id == doc_id)


def boilerplate_texts(document: Document) -> list[str]:
    return [document.text[s:e] for s, e in document.meta["boilerplate"]]


def test_seeds_are_read_unchanged_with_their_ids():
    documents = read_folder(SEEDS)
    assert [d.id for d in documents] == sorted(p.stem for p in SEEDS.glob("*.txt"))
    for document in documents:
        assert document.text == (SEEDS / f"{document.id}.txt").read_text("utf-8")


def test_byline_gives_date_and_author_and_is_kept_out():
    document = seed("000_4cb28fa25178b61e")
    assert document.meta["date"] == "2024-05-21"
    assert document.meta["author"] == "M.K. Bhadrakumar"
    assert document.title == "Die Insiderinformationen zu den Gesprächen zwischen Putin und Xi Jinping"
    assert "21. Mai 2024 | M.K. Bhadrakumar" in boilerplate_texts(document)


def test_title_keeps_kicker_and_headline_apart():
    # the page glues them ("Russland und ChinaPutin …"); its breadcrumb spells them apart
    assert seed("003_0d68779ecc34fcb5").title == "Russland und China: Putin und Xi vereinbaren neue Kooperationen"
    assert analyse("1. Start\n2. Politik: Neues aus Berlin\n\nPolitikNeues aus Berlin\n\nText.")["title"] == \
        "Politik: Neues aus Berlin"
    assert analyse("1. Start\n\nNeues aus Berlin\n\nText.")["title"] == "Neues aus Berlin"


def test_navigation_ads_and_captions_are_boilerplate():
    document = seed("003_0d68779ecc34fcb5")
    junk = "\n".join(boilerplate_texts(document))
    assert "1. Startseite" in junk and "Anzeige" in junk and "Mehr zum Thema" in junk and "Foto: IMAGO" in junk
    assert document.meta["date"] == "2024-05-16"
    content = "".join(document.text[s.start:s.end] for s in content_spans(document))
    assert "Anzeige" not in content and "Startseite" not in content
    assert "Kraft Sibiriens 2" in content


def test_source_line_and_repeated_teaser():
    document = seed("001_6cd37be0f24843b2")
    assert document.meta["source"] == "edition.cnn.com"
    junk = boilerplate_texts(document)
    assert "zum Inhalt" in junk and "Lesen Sie auch:" in junk
    assert any(t.endswith("nehmen an einer...") for t in junk)


def test_stand_date_is_found():
    assert seed("004_436c9eb40a421347").meta["date"] == "2023-02-22"


def test_find_date_forms():
    assert find_date("16.05.2024 - 14:15 Uhr") == "2024-05-16"
    assert find_date("am 3. Oktober 2023") == "2023-10-03"
    assert find_date("2023-02-22") == "2023-02-22"
    assert find_date("keine Angabe") is None


def test_link_markup_is_masked_only_for_the_model():
    assert searchable_text("in seiner [Rede](#) traf") == "in seiner Rede traf"


def test_unusable_files_are_skipped_with_a_warning_naming_them(tmp_path, caplog):
    (tmp_path / "good.txt").write_text("Ein Satz über Peking. Noch einer.", "utf-8")
    (tmp_path / "empty.txt").write_text("  \n", "utf-8")
    (tmp_path / "latin1.txt").write_bytes("Gr\xfc\xdfe aus K\xf6ln".encode("latin-1"))
    (tmp_path / "binary.md").write_bytes(b"\x89PNG\x00\x00\x01")
    (tmp_path / "notes.csv").write_text("ignored", "utf-8")
    with caplog.at_level(logging.WARNING):
        documents = read_folder(tmp_path)
    assert [d.id for d in documents] == ["good"]
    for name, reason in [("empty.txt", "empty"), ("latin1.txt", "not UTF-8"), ("binary.md", "binary")]:
        assert any(name in r.message and reason in r.message for r in caplog.records), name


def test_links_leaving_the_folder_are_not_followed(tmp_path, caplog):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Geheimer Text.", "utf-8")
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Ein Artikel.", "utf-8")
    os.symlink(outside / "secret.txt", folder / "link.txt")
    with caplog.at_level(logging.WARNING):
        assert [d.id for d in read_folder(folder)] == ["a"]
    assert any("link.txt" in r.message for r in caplog.records)


def test_bad_ids_are_refused():
    import pytest

    from rag.errors import InvalidInput

    for bad in ["", " x", "a#1"]:
        with pytest.raises(InvalidInput):
            make_document(bad, "Text.")
    with pytest.raises(InvalidInput):
        make_document("x", "   ")


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_boilerplate_and_content_spans_lie_inside_the_text(text):
    meta = analyse(text)
    previous = 0
    for start, end in meta["boilerplate"]:
        assert previous <= start < end <= len(text)
        previous = end
    if text.strip():
        document = Document("d", text, meta=meta)
        for span in content_spans(document):
            assert 0 <= span.start < span.end <= len(text)
