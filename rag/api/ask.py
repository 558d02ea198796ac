"""POST /ask and GET /search."""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from ..answer.question import QUESTION_FIELD
from ..errors import InvalidInput
from ..pipeline import Pipeline
from ..types import Passage, Reply
from .common import MaxAnswers, Question, TopK, errors, get_pipeline, utf8_query

router = APIRouter(tags=["questions"])


class AskRequest(BaseModel):
    question: Question
    top_k: TopK = None
    max_answers: MaxAnswers = None


@dataclass
class SearchReply:
    passages: list[Passage]


@router.post("/ask", response_model=Reply, responses=errors(400, 413, 422, 503))
def ask(body: AskRequest, pipeline: Pipeline = Depends(get_pipeline)):
    """Answer a question with short extracts of the documents; `no_answer` is true when none is confident enough."""
    return pipeline.ask(body.question, body.top_k, body.max_answers)  # one index version throughout


@router.get("/search", response_model=SearchReply, responses=errors(422, 503), dependencies=[Depends(utf8_query)])
def search(q: Question = Query(), k: TopK = None, pipeline: Pipeline = Depends(get_pipeline)):
    """Retrieval only: the passages closest to `q`, best first."""
    try:
        return SearchReply(pipeline.search(q, k))
    except InvalidInput as error:
        if error.field == QUESTION_FIELD:  # the question is `q` here
            error.field = "q"
        raise
