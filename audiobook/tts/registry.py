"""The speech engines, as peers in one table: what each is, which voices it has, which voice-profile
keys name them, whether it reads English itself, and how to open it (imported only when used).

Nothing here imports an engine's heavy modules (LiteRT, ONNX Runtime, edge-tts): config.py checks
voice names against this table when it loads a profile.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from ..config import Config
    from .base import Engine

KOKORO_VOICES = ("zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian", "zm_yunxi", "zm_yunxia",
                 "zm_yunyang")


@dataclass(frozen=True)
class EngineInfo:
    name: str
    summary: str
    offline: bool
    speaks_english: bool  # Latin words go to it as written (else the lexicon or letter names)
    voice_key: str  # the voice-profile key naming its narrator voice
    quote_key: str | None  # the key naming its second voice for quotations (None: it has one voice)
    voices: tuple[str, ...]  # its voices ((): ask the service)
    factory: str  # "module:callable" taking the Config
    version_of: str  # "module:callable" giving the version without starting the engine
    spoken_as: str = ""  # whose spoken forms (lexicon column, readings) its text gets: "" = its own name

    @property
    def text_engine(self) -> str:
        """The engine name the text layer (text/normalize.py, the lexicon) prepares sentences for."""
        return self.spoken_as or self.name

    def open(self, config: Config) -> Engine:
        return cast("Engine", _resolve(self.factory)(config))

    def version(self) -> str:
        return str(_resolve(self.version_of)())


def _resolve(target: str) -> Callable[..., object]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module, __package__), name)  # type: ignore[no-any-return]


ENGINES: dict[str, EngineInfo] = {
    "local": EngineInfo("local", "embedded offline voice (Baker FastSpeech2 + MB-MelGAN): fast, one female voice, "
                        "no English", True, False, "local_voice", None, ("baker",),
                        ".local:open_local", ".local:engine_version"),
    "kokoro": EngineInfo("kokoro", "offline Kokoro-82M v1.0: eight Mandarin voices that also read English; "
                         "slower", True, True, "kokoro_voice", "kokoro_quote_voice", KOKORO_VOICES,
                         ".kokoro.engine:open_kokoro", ".kokoro.engine:engine_version"),
    "edge": EngineInfo("edge", "Microsoft's online neural voices (edge-tts): needs the service", False, True,
                       "edge_voice", "quote_voice", (), ".edge:open_edge", ".edge:engine_version"),
}
ENGINE_NAMES = tuple(ENGINES)  # the built-in ones: what audiobook.toml may name


def register(info: EngineInfo) -> None:
    """Add an engine to the table (the same way the three above are found: by name); its factory
    and version are "module:callable" strings, imported when used."""
    ENGINES[info.name] = info


def unregister(name: str) -> None:
    ENGINES.pop(name, None)


def engine(name: str) -> EngineInfo:
    from ..errors import EngineError

    if name not in ENGINES:
        raise EngineError(f"unknown engine {name!r}; use auto, {', '.join(ENGINES)}")
    return ENGINES[name]
