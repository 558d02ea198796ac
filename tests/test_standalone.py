"""The repository stands alone: nothing in it reads or mentions a folder beside the clone."""
import subprocess

from .conftest import ROOT

OUTSIDE = "/".join(["..", "shared"])  # built, so that this file does not mention it itself


def repository_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


def test_no_file_refers_outside_the_repository():
    files = repository_files()
    assert "tests/test_standalone.py" in files and "data/seed_qa_dev.jsonl" in files
    offenders = [name for name in files if OUTSIDE.encode() in (ROOT / name).read_bytes()]
    assert offenders == []


def test_bundled_data_carries_its_licence():
    assert (ROOT / "data" / "xquad" / "LICENSE-CC-BY-SA-4.0.txt").read_text().startswith(
        "Creative Commons Attribution-ShareAlike 4.0")
