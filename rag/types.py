"""The nouns of the pipeline, and the wire format of the HTTP API (FastAPI serves these dataclasses as they are).
Every span is a half-open [start, end) into its document's original text."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum

DOCUMENTED = {"use_attribute_docstrings": True}  # pydantic reads the field docstrings below into the API schema


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
    """retrieval score (with the reader's evidence, in a reply to /ask), relative within one reply (not a
    probability)"""
    rank: int

    __pydantic_config__ = DOCUMENTED


@dataclass
class Context:
    text: str
    start: int
    end: int


@dataclass
class Answer:
    __pydantic_config__ = DOCUMENTED

    text: str
    """the short answer: equals the document's text[start:end]"""
    score: float
    """calibrated P(the answer is right), comparable across questions"""
    doc_id: str
    start: int
    end: int
    passage_id: str
    sentence: Span
    """the sentence (or sentences) around the answer, in the same document"""
    context: Context
    """the paragraph around the sentence, cut to about 600 characters"""


class NoAnswerReason(str, Enum):
    """Why a reply has no answer."""

    NO_PASSAGES = "no_passages"  # nothing in the corpus matches the question (or the corpus is empty)
    SPEAKER_NOT_NAMED = "speaker_not_named"  # it asks what someone said whom no document read names
    NOT_OF_THE_KIND_ASKED = "not_of_the_kind_asked"  # it asks how many/much/long; no span read states that
    NOT_CONFIDENT = "not_confident"  # no answer is confident enough


@dataclass
class Reply:
    question: str
    answers: list[Answer]
    passages: list[Passage]
    timings_ms: dict[str, float]
    no_answer: bool = False
    """true when the reply has no answer (set from ``answers``; ``no_answer_reason`` says why)"""
    no_answer_reason: NoAnswerReason | None = None
    """why there is no answer (null when there are answers): "no_passages": nothing in the documents matches;
    "speaker_not_named": the question asks what someone said whom the documents of its top passages never name;
    "not_of_the_kind_asked": it asks how many, how much or how long, and no span read states that; "not_confident":
    no answer is confident enough"""

    __pydantic_config__ = DOCUMENTED

    def __post_init__(self):
        self.no_answer = not self.answers
        if self.answers:
            self.no_answer_reason = None
        elif self.no_answer_reason is None:
            self.no_answer_reason = NoAnswerReason.NOT_CONFIDENT if self.passages else NoAnswerReason.NO_PASSAGES


def reply_to_dict(reply: Reply) -> dict:
    """The /ask reply as JSON-ready data."""
    data = asdict(reply)
    data["no_answer_reason"] = reply.no_answer_reason and reply.no_answer_reason.value
    return data
