"""Where user state lives. Everything (segment cache, patched models) sits under one
directory that the AUDIOBOOK_CACHE_DIR environment variable overrides (tests point it at tmp)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_CACHE_DIR = "AUDIOBOOK_CACHE_DIR"
WEB_DIR = "web"  # under cache_dir(): fetched bodies and their validators (sources/fetch.py)


def cache_dir() -> Path:
    override = os.environ.get(ENV_CACHE_DIR)
    root = Path(override) if override else Path(platformdirs.user_cache_dir("audiobook"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def project_root() -> Path:
    """The source checkout / installed package's parent (holds voices/ and examples/)."""
    return Path(__file__).resolve().parent.parent


def voices_dir() -> Path:
    """Voice profiles and the lexicon: inside the package when installed from a wheel (the build
    puts the repository's voices/ there), else the checkout's voices/."""
    packaged = Path(__file__).resolve().parent / "voices"
    return packaged if packaged.is_dir() else project_root() / "voices"
