"""The generated cover, remembered. An article without a cover of its own gets one drawn from its
title (publish/cover.py): ~0.06 s to draw and ~0.06 s to import Pillow, on every render, since
the file in the output folder is compared with it. The drawing is a pure function of the title,
author and language, of cover.py and of the Pillow and font packages: remembered under all of
them (store/memo.py), a re-render reads it back instead."""

from __future__ import annotations

import base64
import importlib.metadata
import importlib.util
import json
from functools import cache
from pathlib import Path

from ..store.files import file_sha256
from ..store.memo import remembered


def generated_cover(title: str, subtitle: str = "", language: str = "zh-CN") -> bytes:
    """cover.generate_cover(title, subtitle, language=language), from the cache when it was drawn before."""

    def draw() -> str:
        from .cover import generate_cover

        return base64.b64encode(generate_cover(title, subtitle, language=language)).decode("ascii")

    key = json.dumps([title, subtitle, language], ensure_ascii=False)
    return base64.b64decode(remembered("cover", _drawing_version(), key, draw))


@cache
def _drawing_version() -> str:
    spec = importlib.util.find_spec(".cover", __package__)
    if spec is None or spec.origin is None:  # not a source install: no cover module to hash
        raise ModuleNotFoundError("audiobook.publish.cover")
    code = file_sha256(Path(spec.origin))[:16]
    packages = [f"{name}={importlib.metadata.version(name)}" for name in ("pillow", "cvttf-NotoSansCJK-Bold")]
    return "/".join([code, *packages])
