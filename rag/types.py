"""The nouns of the pipeline. Every span is a half-open [start, end) into its document's original text."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Document:
    id: str
    text: str
    title: str = ""
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass
class Chunk:
    id: str  # "{doc_id}#{n}"
    doc_id: str
    start: int
    end: int
    text: str


@dataclass
class Passage:
    id: str
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    rank: int


@dataclass
class Context:
    text: str
    start: int
    end: int


@dataclass
class Answer:
    text: str
    score: float
    doc_id: str
    start: int
    end: int
    passage_id: str
    context: Context


@dataclass
class Reply:
    question: str
    answers: list[Answer]
    passages: list[Passage]
    timings_ms: dict[str, float]

    @property
    def no_answer(self) -> bool:
        return not self.answers


def reply_to_dict(reply: Reply) -> dict:
    """The contract's /ask reply."""
    return {"question": reply.question, "no_answer": reply.no_answer,
            "answers": [asdict(a) for a in reply.answers], "passages": [asdict(p) for p in reply.passages],
            "timings_ms": reply.timings_ms}
