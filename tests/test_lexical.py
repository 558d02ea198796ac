from rag.index.lexical import LexicalIndex, terms


def test_terms_stem_german_and_drop_stopwords():
    assert terms("Was sagte Lawrow über die Bündnisse?") == ["sagt", "lawrow", "bundnis"]


def test_search_finds_inflected_forms_and_empty_cases():
    index = LexicalIndex().fit(["Lawrow sprach über ein echtes Bündnis.", "Putin reiste nach Harbin."])
    assert index.search("Bündnisse Lawrows", 5)[0][0] == 0
    assert index.search("Eiffelturm", 5) == []
    assert LexicalIndex().fit([]).search("Putin", 3) == []
    assert index.known_fraction("Harbin Paris") == 0.5
