from hypothesis import given, settings
from hypothesis import strategies as st

from rag.corpus.files import make_document
from rag.index.chunk import MAX_UNIT_CHARS, sentence_language, split_document, split_sentences, split_units
from rag.types import Span

GERMAN = ("Das Treffen fand am 16. Mai in Peking statt. Es gab z. B. Tee und Nr. 5 war dabei. "
          "Er sagte: „Wir sind bereit.“ Dann ging er.")

words = st.sampled_from(["Putin", "sagte", "z. B.", "16. Mai", "Nr. 5", "„Wort“", "Peking.", "Ende!", "\n", "\n\n",
                         "  ", "é", "👍", "\u200f", "x\u0301", "\r\n", "Frage?", "–", "12.000", ","])
texts = st.lists(words, max_size=120).map(" ".join) | st.text(max_size=300)


def test_german_abbreviations_and_dates_do_not_end_sentences():
    spans = split_sentences(GERMAN)
    assert [GERMAN[s.start:s.end] for s in spans] == [
        "Das Treffen fand am 16. Mai in Peking statt.", "Es gab z. B. Tee und Nr. 5 war dabei.",
        "Er sagte: „Wir sind bereit.“", "Dann ging er."]


@given(texts)
def test_sentences_are_exact_ordered_and_trimmed(text):
    previous = 0
    for span in split_sentences(text):
        piece = text[span.start:span.end]
        assert piece and piece == piece.strip()
        assert span.start >= previous
        previous = span.end


@given(texts)
def test_units_are_short_exact_and_inside_their_sentence(text):
    for sentence in split_sentences(text):
        for unit in split_units(text, sentence):
            assert sentence.start <= unit.start < unit.end <= sentence.end
            assert unit.end - unit.start <= MAX_UNIT_CHARS
            assert text[unit.start:unit.end].strip() == text[unit.start:unit.end]


def test_a_long_sentence_is_cut_at_clauses():
    sentence = ", ".join(["ein Satzteil mit einigen Wörtern darin"] * 20) + "."
    units = split_units(sentence, Span(0, len(sentence)))
    assert len(units) > 1 and all(u.end - u.start <= MAX_UNIT_CHARS for u in units)


@settings(max_examples=60, deadline=None)
@given(texts.filter(lambda t: t.strip()))
def test_chunks_cut_exactly_their_text(text):
    document = make_document("d", text)
    spans = split_document(document, chunk_chars=120, overlap_chars=30)
    for start, end in spans.chunk_spans:
        assert 0 <= start < end <= len(text) and document.text[start:end].strip()
    for start, end in spans.unit_spans:
        assert 0 <= start < end <= len(text)


def test_chunks_end_at_sentence_ends_and_skip_boilerplate():
    text = "Zum Inhalt\n\n" + "Putin traf Xi am 16. Mai in Peking. " * 30 + "\nAnzeige\nKaufen Sie jetzt!\n"
    document = make_document("d", text)
    chunks = [text[start:end] for start, end in split_document(document, chunk_chars=200, overlap_chars=40).chunk_spans]
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.endswith("Peking.")
        assert "Anzeige" not in chunk and "Zum Inhalt" not in chunk


def test_sentences_follow_the_documents_language_where_pysbd_has_rules():
    english = make_document("en", "Mr. Smith met the minister in Washington on Monday. They spoke for an hour.")
    assert english.meta["language"] == "en" and sentence_language(english) == "en"
    assert sentence_language(make_document("sw", "Habari", meta={"language": "sw"})) == "de"
    spans = split_document(english, chunk_chars=800, overlap_chars=300)
    assert [english.text[s:e] for s, e in spans.unit_spans] == \
        ["Mr. Smith met the minister in Washington on Monday.", "They spoke for an hour."]
