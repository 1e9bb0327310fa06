"""The whole flow on one screen: ingest → plan → synthesize → assemble → publish."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .config import Config, VoiceProfile
from .models import Script
from .plan import make_script
from .text.ingest import ingest
from .text.normalize import Normalizer, load_lexicon

log = logging.getLogger(__name__)


@dataclass
class PlanTimings:
    ingest_s: float
    plan_s: float


def plan_article(path: Path, config: Config, profile: VoiceProfile, engine: str) -> Script:
    """Read an article and produce the script for `engine` ("local" or "edge")."""
    document = ingest(path, config.boilerplate)
    normalizer = Normalizer(load_lexicon(), engine)

    def spoken(text: str) -> tuple[str, list[str]]:
        result = normalizer.spoken(text)
        return result.text, result.lexicon_hits

    return make_script(document, profile.pauses, spoken, engine)
