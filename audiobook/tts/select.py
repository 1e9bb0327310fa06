"""Choosing the engine for a run: `local`, `edge`, or `auto` (edge if the service answers a
short probe, else the embedded voice — said loudly). Never switched in the middle of a run."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..config import Config, VoiceProfile
from ..errors import EngineError
from .base import Engine, Voice

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class EngineChoice:
    name: str  # "local" | "edge"
    reason: str  # why (shown to the user, recorded in render.json)


def choose_engine(requested: str, config: Config) -> EngineChoice:
    if requested not in ("auto", "local", "edge"):
        raise EngineError(f"unknown engine {requested!r}; use auto, local or edge")
    if requested == "local":
        return EngineChoice("local", "requested")
    if requested == "edge":
        return EngineChoice("edge", "requested")
    from .edge import probe

    problem = probe(config.edge, timeout_s=PROBE_TIMEOUT_S)
    if problem is None:
        return EngineChoice("edge", "auto: the edge service answered")
    log.warning("edge-tts service unreachable (%s); using the embedded offline voice", problem)
    return EngineChoice("local", f"auto: edge unreachable ({problem})")


def open_engine(name: str, config: Config) -> Engine:
    if name == "edge":
        from .edge import EdgeEngine

        return EdgeEngine(config.edge)
    from .local import LocalEngine

    return LocalEngine()


def voice_for(engine: str, profile: VoiceProfile) -> Voice:
    name = profile.edge_voice if engine == "edge" else profile.local_voice
    return Voice(engine, name, profile.rate, profile.pitch, profile.volume)


def quote_voice_for(engine: str, profile: VoiceProfile) -> Voice | None:
    """The second voice for quoted speech, or None when the narrator reads quotations too (the
    profile names none, names the narrator's, or the engine has one voice: local)."""
    if engine != "edge" or not profile.quote_voice or profile.quote_voice == profile.edge_voice:
        return None
    return Voice(engine, profile.quote_voice, profile.rate, profile.pitch, profile.volume)


def describe_voices(voice: Voice, quote_voice: Voice | None) -> str:
    """For render.json and the ID3 comment: "zh-CN-XiaoxiaoNeural" or "… (quotations: …)"."""
    return f"{voice.name} (quotations: {quote_voice.name})" if quote_voice else voice.name


def engine_version(name: str) -> str:
    """The engine's version string without starting it (part of every segment key)."""
    if name == "edge":
        from .edge import EdgeEngine

        return EdgeEngine.version
    from .local import engine_version as local_version

    return local_version()
