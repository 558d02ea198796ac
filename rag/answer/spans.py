"""Clean answer spans: whole words and compounds, quotes and brackets in pairs, no trailing punctuation.

The reader points at tokens, and a token's range can start or end inside a word, hold half a pair of quotes
('Washington, "New Start') or a trailing comma. ``clean_span`` turns such a range into one a reader of the answer
would have cut.
"""
from __future__ import annotations

import unicodedata

# What each closing character closes. A quote that closes nothing open opens a pair instead: ASCII " and the
# guillemets go both ways, “ closes „ in German and opens in English.
CLOSES = {")": "(", "]": "[", "}": "{", "\"": "\"„“", "“": "„", "”": "“„", "»": "«", "«": "»", "›": "‹", "‹": "›"}
OPENS = "([{\"„“«»‹›"
QUOTES = "\"„“”«»‹›"
HYPHENS = "-‐‑"  # joins the parts of a compound ("Power of Siberia 2"-Pipeline, Russland-China-Gipfel)
EDGE_PUNCTUATION = ",;:!?.–—" + HYPHENS  # never starts or ends an answer
REACH = 40  # characters an answer may grow by on either side to take in the other half of a pair


def clean_span(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) grown to whole words and compounds, with quotes and brackets in pairs (an unpaired bracket at
    either end is dropped; otherwise the range grows by at most REACH characters within the line to take in the other
    half, so that half a quotation becomes the whole one, else is cut to the part without unpaired ones), without
    surrounding spaces, edge punctuation (an abbreviation keeps its full stop) or a pair wrapping the whole answer.

    Always a range inside ``text``; idempotent; non-empty when [start, end) holds a letter or digit."""
    start, end = sorted((min(max(start, 0), len(text)), min(max(end, 0), len(text))))
    while True:
        before = (start, end)
        start, end = _stripped(text, *_balanced(text, *_stripped(text, *_whole_words(text, start, end))))
        if (start, end) == before:
            return start, end


def _word(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or unicodedata.category(text[i]).startswith("M"))


def _is(text: str, i: int, characters: str) -> bool:
    return 0 <= i < len(text) and text[i] in characters


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Grown so that neither end lies inside a word or a hyphenated compound."""
    def inside(i: int, closing_quote_joins: bool) -> bool:  # between text[i - 1] and text[i]
        left_joins = _word(text, i - 1) or (closing_quote_joins and _is(text, i - 1, QUOTES))
        return (_word(text, i - 1) and _word(text, i)) \
            or (_is(text, i, HYPHENS) and _word(text, i + 1) and left_joins) \
            or (_is(text, i - 1, HYPHENS) and _word(text, i) and (_word(text, i - 2) or (
                closing_quote_joins and _is(text, i - 2, QUOTES))))
    if start == end:
        return start, end
    while start > 0 and inside(start, closing_quote_joins=False):
        start -= 1
    while end < len(text) and inside(end, closing_quote_joins=True):
        end += 1
    return start, end


def _pairs(piece: str) -> tuple[dict[int, int], list[int]]:
    """The pairs of quotes and brackets in ``piece`` (opening position → closing position) and the positions of
    unpaired ones. An unpaired closing character ends every pair still open before it, so no pair spans an unpaired
    character."""
    pairs, unpaired, open_ = {}, [], []
    for i, c in enumerate(piece):
        if open_ and piece[open_[-1]] in CLOSES.get(c, ""):
            pairs[open_.pop()] = i
        elif c in OPENS:
            open_.append(i)
        elif c in CLOSES:
            unpaired += open_ + [i]
            open_ = []
    return pairs, sorted(unpaired + open_)


def _balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """The nearest range around [start, end) within REACH and the line whose pairs are complete; failing that, the
    stretch between unpaired characters with the most letters and digits (the first such)."""
    if not _pairs(text[start:end])[1]:
        return start, end
    first = max(text.rfind("\n", 0, start) + 1, start - REACH)
    last = text.find("\n", end)
    last = min(len(text) if last < 0 else last, end + REACH)
    lefts = [start] + [a for a in range(start - 1, first - 1, -1) if text[a] in OPENS]
    rights = [end] + [b + 1 for b in range(end, last) if text[b] in CLOSES]
    grown = [(b - a, a, b) for a in lefts for b in rights if not _pairs(text[a:b])[1]]
    if grown:
        _, a, b = min(grown)
        return a, b
    cuts = [start - 1] + [start + i for i in _pairs(text[start:end])[1]] + [end]
    stretches = [(a + 1, b) for a, b in zip(cuts, cuts[1:])]
    return max(stretches, key=lambda s: (sum(_word(text, i) for i in range(*s)), s[1] - s[0], -s[0]))


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    """Without surrounding spaces, edge punctuation, an unpaired bracket at either end and a pair of quotes or
    brackets around the whole range."""
    while True:
        before = (start, end)
        while start < end and (text[start].isspace() or text[start] in EDGE_PUNCTUATION):
            start += 1
        while end > start and (text[end - 1].isspace() or (text[end - 1] in EDGE_PUNCTUATION
                                                          and not _abbreviation(text, start, end))):
            end -= 1
        pairs, unpaired = _pairs(text[start:end])
        if unpaired and unpaired[0] == 0 and text[start] not in QUOTES:
            start += 1
        elif unpaired and unpaired[-1] == end - start - 1 and text[end - 1] not in QUOTES:
            end -= 1
        elif end - start >= 2 and pairs.get(0) == end - start - 1:
            start, end = start + 1, end - 1
        if (start, end) == before:
            return start, end


def _abbreviation(text: str, start: int, end: int) -> bool:
    """The range ends with the full stop of an abbreviation of short parts (U.S., z.B.), not of a number or word."""
    word = (text[start:end - 1].split() or [""])[-1]
    parts = word.split(".")
    return text[end - 1] == "." and len(parts) > 1 and all(0 < len(p) <= 3 and p.isalpha() for p in parts)
