"""The `rag` command: ingest, ask, serve, eval."""
from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click
from pydantic import ValidationError

from .errors import RagError
from .settings import MODES, Settings, bounds, default
from .types import NoAnswerReason

NO_ANSWER_SAYS = {  # by the reply's no_answer_reason (from a server too old to give one: NOT_CONFIDENT's)
    NoAnswerReason.NO_PASSAGES.value: "nothing in the articles matches the question.",
    NoAnswerReason.SPEAKER_NOT_NAMED.value: "the articles found never name the person the question asks about.",
    NoAnswerReason.NOT_OF_THE_KIND_ASKED.value: "no passage found states the number, amount or time asked for.",
    NoAnswerReason.NOT_CONFIDENT.value: "no extract found in the articles answers it confidently.",
}


class RagGroup(click.Group):
    """Turns the package's own errors into a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RagError as error:
            raise click.ClickException(str(error)) from None
        except ValidationError as error:  # a RAG_* environment variable out of range
            problems = "; ".join(f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
            raise click.ClickException(f"invalid configuration: {problems}") from None


@click.group(cls=RagGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
def cli(verbose: bool):
    """Ask questions of a news corpus; every answer is an extract with its document and character range."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # its note on CPU features, at every start
    logging.getLogger("rag.progress").setLevel(logging.INFO)  # long work's progress, when stderr is no terminal
    logging.getLogger("rag.api.security").setLevel(logging.INFO)  # `rag serve` says who may write


def _pipeline(**overrides):
    from .pipeline import Pipeline

    return Pipeline(Settings(**overrides))


def fill_hint() -> str:
    from .corpus.files import SUFFIXES

    return f"add articles with: rag ingest FOLDER_OR_FILE ({', '.join(SUFFIXES)})"


def _shard(ctx, param, value: str | None):
    from .corpus.shard import Shard

    try:
        return Shard.parse(value) if value is not None else None
    except RagError as error:
        raise click.BadParameter(str(error)) from None


@cli.command()
@click.argument("path", type=click.Path(path_type=Path), default=None, required=False)
@click.option("--shard", metavar="i/N", callback=_shard,
              help="Ingest only shard i of N (1 ≤ i ≤ N: the articles whose id hashes to it), so that N processes "
                   "(one per shard) share the work; each drops only its own articles whose files are gone.")
def ingest(path: Path | None, shard):
    """Add or update the articles (.txt, .md, .html, .htm, .pdf) of PATH, a folder or one file (default: seeds/,
    RAG_SEEDS_DIR) in the index (RAG_INDEX_DIR). A folder's files that are gone are dropped from the index."""
    settings = Settings()
    path = path or settings.seeds_dir
    from .pipeline import Pipeline

    pipeline = Pipeline(settings)
    report = pipeline.ingest_folder(path, progress=True, shard=shard)
    click.echo(f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
               f"{len(report.removed)} removed; {report.chunks} chunks in {pipeline.corpus.where} "
               f"({report.seconds:.1f} s)")
    if not report.chunks:
        click.echo(f"the index is empty: {fill_hint()}", err=True)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the /ask reply as JSON.")
@click.option("-k", "--top-k", type=click.IntRange(*bounds("top_k")), default=None,
              help=f"Passages to retrieve [default: RAG_TOP_K or {default('top_k')}].")
@click.option("-n", "--max-answers", type=click.IntRange(*bounds("max_answers")), default=None,
              help=f"Answers to return at most [default: RAG_MAX_ANSWERS or {default('max_answers')}].")
@click.option("--server", metavar="URL", default=None,
              help="Ask the `rag serve` at URL (e.g. http://127.0.0.1:8000), whose models are loaded (without -k or "
                   "-n, its defaults hold); when none answers there, the question is answered here "
                   "[default: RAG_SERVER_URL, or none: here].")
def ask(question: str, as_json: bool, top_k: int | None, max_answers: int | None, server: str | None):
    """Answer QUESTION from the index, citing document and character range.

    Reads the index in RAG_INDEX_DIR (default: the index/ folder of the project around the working directory) with
    the model in RAG_MODEL; every RAG_* setting is listed in README.md (Configuration). Passage scores rank the
    passages of one question: they are relative, not a confidence; an answer's confidence is a calibrated
    probability."""
    server = server or Settings().server_url
    reply = _ask_server(server, question, top_k, max_answers) if server else None
    if reply is None:
        reply = _ask_here(question, top_k, max_answers)
    if as_json:
        click.echo(json.dumps(reply, ensure_ascii=False, indent=2))
        return
    if reply["no_answer"]:
        why = NO_ANSWER_SAYS.get(reply.get("no_answer_reason"), NO_ANSWER_SAYS[NoAnswerReason.NOT_CONFIDENT.value])
        click.echo(f"No answer: {why}" + (" Closest passages:" if reply["passages"] else ""))
    for i, answer in enumerate(reply["answers"], start=1):
        context, sentence = answer["context"], answer["sentence"]
        in_sentence = context["text"][sentence["start"] - context["start"]:sentence["end"] - context["start"]]
        click.echo(f"[{i}] {answer['text']}")
        click.echo(f"    confidence {answer['score']:.2f} · {answer['doc_id']} [{answer['start']}:{answer['end']}]")
        click.echo(f"    in: {' '.join(in_sentence.split())}")
    click.echo("\nPassages: (scores are relative: they order this question's passages, they are no confidence)")
    for passage in reply["passages"]:
        text = " ".join(passage["text"].split())
        click.echo(f"  {passage['rank']}. {passage['id']} [{passage['start']}:{passage['end']}] score "
                   f"{passage['score']:.2f} · {passage['title']}\n     {text[:200]}{'…' if len(text) > 200 else ''}")


def _ask_here(question: str, top_k: int | None, max_answers: int | None) -> dict:
    """The /ask reply, answered in this process."""
    from .types import reply_to_dict

    pipeline = _pipeline()
    if not len(pipeline.index):  # no index at all is an error of its own, found before any model loads
        raise click.ClickException(f"the index in {pipeline.corpus.where} is empty: {fill_hint()}")
    return reply_to_dict(pipeline.ask(question, top_k, max_answers))


def _ask_server(url: str, question: str, top_k: int | None, max_answers: int | None) -> dict | None:
    """The /ask reply of the server at ``url``; None (with a note) when nothing answers there."""
    from .client import ServerUnreachable, ask

    key = Settings().api_key
    try:
        return ask(url, question, top_k, max_answers, key.get_secret_value() if key else None)
    except ServerUnreachable as error:
        click.echo(f"{error}: answering here", err=True)
        return None


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int):
    """Run the HTTP service and chat page; builds the index from seeds/ first if there is none."""
    import uvicorn

    from .pipeline import Pipeline

    settings = Settings()
    pipeline = Pipeline(settings)
    if not pipeline.has_index():
        started = time.perf_counter()
        click.echo(f"no index in {pipeline.corpus.where}: building it from {settings.seeds_dir} …", err=True)
        pipeline.ingest_folder(settings.seeds_dir, progress=True)
        click.echo(f"built in {time.perf_counter() - started:.1f} s", err=True)
    if workers > 1:
        uvicorn.run("rag.api.app:app_from_environment", factory=True, host=host, port=port, workers=workers)
    else:
        from .api.app import create_app

        uvicorn.run(create_app(settings, pipeline), host=host, port=port)


@cli.group(name="index")
def index_group():
    """Maintenance of the index in RAG_INDEX_DIR."""


@index_group.command()
def repair():
    """Make the newest intact version live when the live one is damaged (the damaged one is kept, renamed)."""
    pipeline = _pipeline()
    set_aside = pipeline.repair()
    if not set_aside:
        click.echo(f"the live version of {pipeline.corpus.where} is intact: nothing to repair")
        return
    from .index.versions import DAMAGED_PREFIX

    for path in set_aside:
        click.echo(f"{path.name} was damaged: kept as {DAMAGED_PREFIX}{path.name}")
    click.echo("the newest intact version is live again")


@cli.group(name="model")
def model_group():
    """The bundled model in other forms."""


@model_group.command(name="export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_model(directory: Path):
    """Write the bundled model as a sentence-transformers DIRECTORY, for RAG_MODEL=DIRECTORY (needs the dev extra)."""
    from .encoder.export import export

    started = time.perf_counter()
    export(directory)
    click.echo(f"bundled model written to {directory} ({time.perf_counter() - started:.1f} s)")


@cli.group(name="eval")
def evaluate():
    """Benchmarks: a SQuAD-format file, or questions over the indexed corpus."""


_MODE_OPTION = click.option("--mode", "modes", multiple=True, type=click.Choice(MODES),
                            help="Pipeline mode to run; repeat for several (default: all three side by side).")
_BASELINES_OPTION = click.option("--baselines", is_flag=True,
                                 help="Run the full pipeline and both baselines (dense, lexical): the default.")


def _eval_modes(modes: tuple[str, ...], baselines: bool) -> list[str]:
    return list(MODES) if baselines or not modes else list(modes)


def _eval_output(outcome: dict, as_json: bool, summary) -> None:
    from .evaluate import as_json_object

    if as_json:
        click.echo(json.dumps(as_json_object(outcome), ensure_ascii=False))
    else:
        click.echo(summary(outcome))


def _article_range(_ctx, _param, value: str | None) -> range | None:
    if value is None:
        return None
    first, _, last = value.partition("-")
    if not (first.isdigit() and (last or first).isdigit()) or int(last or first) < int(first):
        raise click.BadParameter(f"{value!r} is not a range A-B of article numbers (e.g. 24-47)")
    return range(int(first), int(last or first) + 1)


@evaluate.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--questions", "questions_file", type=click.Path(path_type=Path), default=None,
              help="JSONL lines {\"id\", \"question\"} replacing the question texts by id (cross-lingual runs).")
@_MODE_OPTION
@_BASELINES_OPTION
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N paragraphs and their questions.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {metrics, results, run}.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars on stderr.")
@click.option("--index-cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the paragraphs' index under this folder and reuse it on the next run of the same file.")
@click.option("--articles", callback=_article_range, default=None, metavar="A-B",
              help="Ask only the questions of articles A to B (0-based, file order; XQuAD's held-out: 24-47). "
                   "Every paragraph is still indexed.")
@click.option("--every", type=click.IntRange(1), default=1, show_default=True,
              help="Ask every N-th question only (a faster sample).")
def squad(file: Path, questions_file: Path | None, modes: tuple[str, ...], baselines: bool, limit: int | None,
          as_json: bool, progress: bool, index_cache: Path | None, articles: range | None, every: int):
    """Benchmark on a SQuAD-format FILE: index its paragraphs in a temporary folder once, ask every question."""
    from .evaluate import squad_eval, squad_summary

    outcome = squad_eval(file, _eval_modes(modes, baselines), questions_file, limit, progress=progress,
                         index_cache=index_cache, articles=articles, every=every)
    _eval_output(outcome, as_json, squad_summary)


@evaluate.command()
@click.argument("file", type=click.Path(path_type=Path))
@_MODE_OPTION
@_BASELINES_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {metrics, results, run}.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars on stderr.")
@click.option("--split", type=click.Choice(["fit", "check"]), default=None,
              help="Ask only the questions of this half (the lines' \"split\" field): fit and choose on fit, "
                   "report on check.")
def qa(file: Path, modes: tuple[str, ...], baselines: bool, as_json: bool, progress: bool, split: str | None):
    """Benchmark on the indexed corpus with FILE.jsonl lines {id, question, doc_ids, answers, answerable}
    (optionally lang, kind, split)."""
    from .evaluate import qa_eval, qa_summary

    outcome = qa_eval(file, _eval_modes(modes, baselines), progress=progress, split=split)
    _eval_output(outcome, as_json, qa_summary)


@evaluate.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the JSONL here (default: standard output).")
def questions(file: Path, output: Path | None):
    """Write the questions of a SQuAD-format FILE as JSONL {id, question}, for `rag eval squad --questions`."""
    from .evaluate import write_questions

    if output is None:
        write_questions(file, sys.stdout)
        return
    count = write_questions(file, output)
    click.echo(f"{count} questions written to {output}", err=True)


def main():
    cli()
