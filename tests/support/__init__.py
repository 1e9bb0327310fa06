"""What tests share that is not a fixture (fixtures are in tests/conftest.py): where things are,
and helper modules (articles, the CLI as a subprocess, output folders, web pages, EPUBs, speech-like
signals, a stock web server). Test modules import from here, never from each other."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SHARED = PROJECT.parent / "shared"
SAMPLE = SHARED / "corpus" / "deepseek-essay.txt"
EXAMPLE = PROJECT / "examples" / "tea-and-code.md"

needs_sample = pytest.mark.skipif(
    not SAMPLE.exists(), reason="real sample ../shared/corpus/deepseek-essay.txt not present (fresh clone)"
)
