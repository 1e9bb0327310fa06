"""Shared fixtures. User state goes to a temp dir; the real sample lives in ../shared
(absent on a user's fresh clone: tests that need it skip with a reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
SAMPLE = SHARED / "corpus" / "deepseek-essay.txt"
EXAMPLE = PROJECT / "examples" / "tea-and-code.md"

needs_sample = pytest.mark.skipif(
    not SAMPLE.exists(), reason="real sample ../shared/corpus/deepseek-essay.txt not present (fresh clone)"
)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's cache; share one cache dir per session so the patched model is reused."""
    root = tmp_path_factory.getbasetemp() / "audiobook-cache"
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(root))


@pytest.fixture
def write_article(tmp_path: Path):
    def write(text: str | bytes, name: str = "article.txt") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write
