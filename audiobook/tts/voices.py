"""Listing the Edge voices (for `audiobook voices`), from the configured voices endpoint."""

from __future__ import annotations

import asyncio

import aiohttp
import edge_tts
import edge_tts.exceptions
from edge_tts.typing import Voice as EdgeVoice

from audiobook.config import EdgeConfig
from audiobook.errors import EngineError
from audiobook.tts.edge import _pointed_at, endpoints


def list_voices(locale_prefix: str = "zh", config: EdgeConfig | None = None) -> list[EdgeVoice]:
    """Edge voices whose Locale starts with `locale_prefix` ("" for all; "zh" → zh-CN, zh-TW,
    zh-HK, zh-CN-liaoning…), sorted by ShortName. Each is the service's own JSON (edge-tts's Voice): Name,
    ShortName, Gender, Locale, SuggestedCodec, FriendlyName, Status,
    VoiceTag{ContentCategories, VoicePersonalities}."""
    config = config or EdgeConfig()
    ep = endpoints(config)

    async def fetch() -> list[EdgeVoice]:
        # edge-tts gives this request no timeout of its own (aiohttp's default is 300 s).
        return list(await asyncio.wait_for(edge_tts.list_voices(proxy=ep.proxy), config.timeout_s))

    try:
        with _pointed_at(ep):
            voices = asyncio.run(fetch())
    except (aiohttp.ClientError, TimeoutError, edge_tts.exceptions.EdgeTTSException, ValueError) as exc:
        reason = str(exc) or "timeout"
        if isinstance(exc, aiohttp.ClientResponseError):
            reason = f"HTTP {exc.status}"
        elif isinstance(exc, aiohttp.ClientConnectorError):
            reason = f"cannot connect to {exc.host}:{exc.port}"
        raise EngineError(
            f"could not list the edge voices from {ep.voices_url.split('?')[0]} ({reason}); "
            "check the network or [edge] proxy in audiobook.toml, or use the local voice"
        ) from exc
    prefix = locale_prefix.lower()
    chosen = [v for v in voices if str(v.get("Locale", "")).lower().startswith(prefix)]
    return sorted(chosen, key=lambda v: v["ShortName"])
