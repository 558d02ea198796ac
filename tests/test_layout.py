"""The house rules of docs/architecture.md, read from the source: the question side never imports the file readers or
the pipeline, and no two modules import each other in a loop."""
import ast
from pathlib import Path

import rag

PACKAGE = Path(rag.__file__).parent


def imports() -> dict[str, set[str]]:
    """{module: the rag modules it imports}, from the source (relative imports resolved)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("rag", *path.relative_to(PACKAGE).with_suffix("").parts)
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = parts[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = list(package[:len(package) - node.level + 1]) if node.level else []
                name = ".".join(base + ([node.module] if node.module else []))
                targets |= {f"{name}.{alias.name}" for alias in node.names} | {name}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        found[module] = {t for t in targets if t.startswith("rag")}
    modules = set(found)
    # a package's own __init__ is no edge of its modules: ``from . import x`` inside it names the package only
    return {m: {t for t in targets if t in modules and t != m and not m.startswith(t + ".")}
            for m, targets in found.items()}


def test_the_question_side_imports_neither_the_file_readers_nor_the_pipeline():
    graph = imports()
    for module in ("rag.index.chunk", "rag.index.encode", "rag.answer.retrieve", "rag.answer.read",
                   "rag.answer.answers"):
        assert not {t for t in graph[module] if t.startswith("rag.corpus") or t == "rag.pipeline"}, module


def test_no_import_loops():
    graph = imports()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for target in graph[start] - seen:
            seen.add(target)
            if target == goal or reaches(target, goal, seen):
                return True
        return False

    assert not [m for m in graph if reaches(m, m, set())]
