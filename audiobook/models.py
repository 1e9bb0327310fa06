"""Plain dataclasses passed between pipeline stages.

ingest → Document → plan → Script (chapters of Sentences with display and spoken text)
→ synthesize (Segments in the cache) → assemble → publish.

The speech data (Voice, SynthRequest, Synthesis, Boundary) is here too: engines produce it, the
segment cache stores it, assembly reads it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

MUSIC_ROLES = ("intro", "outro", "transition")  # the show's own audio around the narration (audio/music.py)
BlockKind = Literal["heading", "subheading", "paragraph", "list_item"]
SentenceKind = Literal["title", "heading", "subheading", "sentence"]


@dataclass
class GarbledSpan:
    """A stretch of mis-decoded text (GBK lost-high-bit damage) found at line:col of the source."""

    line: int
    col: int
    original: str
    action: Literal["repaired", "dropped"]
    replacement: str = ""  # what the narration reads instead ("" when dropped)


@dataclass
class DroppedLine:
    """A non-content line that will not be narrated, and the rule that matched it."""

    line: int
    text: str
    rule: str
    source: str = ""  # the file inside the source it was in (an EPUB's spine item), "" for the article itself


@dataclass
class Block:
    """One structural unit of the article, after cleaning."""

    kind: BlockKind
    text: str
    line: int  # 1-based line in the source file
    level: int = 0  # heading level (1 = chapter); 0 for non-headings
    source: str = ""  # where it came from when not simply the article (a page URL#id, an EPUB spine item)


@dataclass
class Document:
    title: str
    author: str
    date: str
    language: str  # BCP-47, e.g. zh-CN / zh-TW
    cover: str  # path from front matter (or of a web page's lead image, an EPUB's cover), "" if none
    source: str  # path of the article file, or the URL of a web page
    blocks: list[Block]
    dropped: list[DroppedLine] = field(default_factory=list)
    garbled: list[GarbledSpan] = field(default_factory=list)
    encoding: str = "utf-8"
    description: str = ""
    episode_id: str = ""  # front matter `id`: the episode's identity across titles, moves and machines
    title_in_text: bool = False  # the title was taken from the start of the text: announcing it would repeat it
    music: dict[str, str] = field(default_factory=dict)  # front matter intro/outro/transition, as written


@dataclass
class Sentence:
    text: str  # display text, exactly as in the source (after repair)
    spoken: str  # what the engine is asked to say
    pause_after_ms: int
    kind: SentenceKind = "sentence"
    paragraph: int = 0  # index of the paragraph within its chapter
    lexicon_hits: list[str] = field(default_factory=list)
    quote: bool = False  # quoted speech: read by the profile's quote voice when it has one
    key: str = ""  # its segment's cache key, once the engine and voices are known (render/synthesize.py)


@dataclass
class Chapter:
    index: int  # 1-based
    title: str
    sentences: list[Sentence]
    source: str = ""  # where its text came from: a page URL, an EPUB spine item ("" = the article file)

    @property
    def keys(self) -> list[str]:
        """Its sentences' segment keys, in reading order."""
        return [s.key for s in self.sentences]


@dataclass
class Script:
    """The plan: everything that will be read, in order, with its spoken form."""

    title: str
    author: str
    date: str
    language: str
    cover: str
    source: str
    engine: str
    chapters: list[Chapter]
    dropped: list[DroppedLine] = field(default_factory=list)
    garbled: list[GarbledSpan] = field(default_factory=list)
    episode_id: str = ""

    def to_json(self) -> dict[str, Any]:
        """The plan as `render --dry-run --json` prints it (without segment keys: they belong to a render)."""
        data = asdict(self)
        for chapter in data["chapters"]:
            for sentence in chapter["sentences"]:
                del sentence["key"]
        return data


# ---------------------------------------------------------------------------- speech


@dataclass(frozen=True)
class Voice:
    """What shapes the sound of a segment (part of the segment cache key)."""

    engine: str  # a registry name: "local" | "kokoro" | "edge"
    name: str  # e.g. "zh-CN-XiaoxiaoNeural" or "baker" for the embedded voice
    rate: str = "+0%"
    pitch: str = "+0Hz"
    volume: str = "+0%"


@dataclass(frozen=True)
class Boundary:
    """A word or sentence boundary reported by the engine, times in ms from segment start."""

    text: str
    offset_ms: float
    duration_ms: float


@dataclass(frozen=True)
class SynthRequest:
    key: str  # segment cache key
    text: str  # spoken text (never empty of speakable characters)
    voice: Voice
    # Engines start lower groups first (the synthesis stage passes its chapter order, so each
    # chapter completes as a whole and is assembled while later ones are still synthesizing).
    group: int = 0


@dataclass
class Synthesis:
    samples: np.ndarray  # mono int16 PCM at sample_rate
    sample_rate: int
    boundaries: list[Boundary] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return 1000.0 * len(self.samples) / self.sample_rate
