"""Ingest in several processes: `rag ingest --shard i/N` reads only the articles of shard i of N, those whose document
id hashes to it, and drops only its own documents whose files are gone. Each shard encodes on its own and commits
through the index folder's write lock, so N processes give the index one process would."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput

SHARD_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard ``number`` (1 to ``count``) of a corpus's documents."""

    number: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/N"``, 1 ≤ i ≤ N."""
        found = SHARD_FORM.fullmatch(text)
        if not found:
            raise InvalidInput(f"a shard is i/N (shard i of N, e.g. 1/4), not {text!r}")
        number, count = int(found[1]), int(found[2])
        if not 1 <= number <= count:
            raise InvalidInput(f"shard {text!r}: i must be between 1 and N")
        return cls(number, count)

    def owns(self, doc_id: str) -> bool:
        """Whether the document is this shard's: its id's hash (the same in every process and on every machine)."""
        digest = hashlib.sha256(doc_id.encode("utf-8", "surrogatepass")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.number - 1


@dataclass(frozen=True)
class FolderScope:
    """The stored documents an ingest of a folder answers for: those read from under it (of its shard, if any). Of
    these, the ones whose file is gone are dropped."""

    folder: Path
    shard: Shard | None = None

    def holds(self, doc_id: str, path: str) -> bool:
        owned = self.shard is None or self.shard.owns(doc_id)
        return owned and Path(path).resolve().is_relative_to(self.folder.resolve())
