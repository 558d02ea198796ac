"""The language of a document's text (py3langid), so that clients can mark its extracts up with the right ``lang``."""
from __future__ import annotations

SAMPLE_CHARS = 5000  # the start of the text: plenty to tell a language, bounded cost for long documents


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the text's language (e.g. "de"); its model loads on the first call (about a second)."""
    import py3langid

    language, _ = py3langid.classify(text[:SAMPLE_CHARS])
    return language
