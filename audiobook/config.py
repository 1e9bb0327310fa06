"""User-editable configuration: audiobook.toml (show, feed, render defaults, boilerplate
rules, edge endpoint) and voice profiles under voices/. Validated strictly at load: an
unknown key or a bad value is a ConfigError naming the file, the key and what is allowed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError
from .paths import voices_dir
from .showrules import check_base_url, check_category
from .tts.registry import ENGINE_NAMES, ENGINES

CONFIG_FILE = "audiobook.toml"
T = TypeVar("T")


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found; create it or check the path") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path} is a folder; give the path of the .toml file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: can't read it ({exc.strerror}); check its permissions") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax") from exc


def fill_dataclass(cls: type[T], data: dict[str, Any], where: str) -> T:
    """Build dataclass `cls` from a TOML table, rejecting unknown keys and wrong types."""
    allowed = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]  # cls is a dataclass
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(allowed))}"
        )
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        expected = type(getattr(defaults, name))
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(
                f"{where}: key {name!r} must be a {expected.__name__}, got {value!r}"
            )
        kwargs[name] = value
    return cls(**kwargs)


@dataclass
class ShowConfig:
    title: str = ""
    author: str = ""
    owner_name: str = ""
    owner_email: str = ""
    language: str = "zh-CN"
    category: str = "Education"
    subcategory: str = ""
    explicit: bool = False
    description: str = ""
    cover: str = ""
    base_url: str = "http://127.0.0.1:8000/"
    link: str = ""
    guid: str = ""  # podcast:guid; empty = derived from the feed URL (set it to keep it when the URL moves)
    locked: bool = False  # podcast:locked: true asks other podcast hosts to refuse importing the feed


@dataclass
class FeedConfig:
    # .rss: stock web servers (nginx, Apache, GitHub Pages) send it as application/rss+xml, whose
    # encoding comes from the XML declaration; nginx sends .xml as text/xml without a charset,
    # which feed readers must then take as US-ASCII.
    file: str = "feed.rss"
    items: str = "episodes"  # "episodes" (one item per article) or "chapters"
    type: str = "episodic"  # itunes:type: episodic | serial


@dataclass
class RenderConfig:
    output: str = "output"
    engine: str = "auto"  # auto | local | kokoro | edge
    voice: str = "default"  # profile name under voices/
    bitrate_kbps: int = 64
    loudness_lufs: float = -19.0
    true_peak_dbtp: float = -1.0


@dataclass
class MusicConfig:
    """The show's own audio around the narration (audio/music.py): paths relative to audiobook.toml,
    "" for none. An article's front matter can override each; `render --no-music` leaves all out."""

    intro: str = ""  # before the first chapter
    outro: str = ""  # after the last
    transition: str = ""  # between chapters
    fade_ms: int = 500  # fades where music meets the voice (the intro's end, the outro's start)


@dataclass
class BoilerplateConfig:
    """Extra regexes (matched against a whole stripped line) for lines not to narrate.
    `disable` names default rules to switch off."""

    patterns: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)


@dataclass
class EdgeConfig:
    wss_url: str = ""
    voices_url: str = ""
    proxy: str = ""
    concurrency: int = 8
    timeout_s: float = 20.0
    retries: int = 5


@dataclass
class FetchConfig:
    """Fetching web pages, feeds and their images."""

    timeout_s: float = 20.0  # per network wait; a whole download gets three times this
    max_mb: float = 10.0  # largest page (or image) accepted, in MB
    user_agent: str = ""  # "" = audiobook/VERSION (article narrator; ...)


@dataclass
class FollowConfig:
    """`audiobook follow` (and `watch --follow`): the sites' feeds followed into this show."""

    feeds: list[str] = field(default_factory=list)  # RSS/Atom URLs
    limit: int = 10  # newest entries of each feed that are rendered
    poll_minutes: float = 30.0  # how often `watch --follow` reads the feeds


@dataclass
class Config:
    path: Path | None = None
    show: ShowConfig = field(default_factory=ShowConfig)
    feed: FeedConfig = field(default_factory=FeedConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    boilerplate: BoilerplateConfig = field(default_factory=BoilerplateConfig)
    edge: EdgeConfig = field(default_factory=EdgeConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    follow: FollowConfig = field(default_factory=FollowConfig)
    music: MusicConfig = field(default_factory=MusicConfig)


_SECTIONS = {
    "show": ShowConfig,
    "feed": FeedConfig,
    "render": RenderConfig,
    "boilerplate": BoilerplateConfig,
    "edge": EdgeConfig,
    "fetch": FetchConfig,
    "follow": FollowConfig,
    "music": MusicConfig,
}


def load_config(path: Path | None = None) -> Config:
    """Load audiobook.toml from `path`, or ./audiobook.toml if present, else defaults."""
    if path is None:
        candidate = Path.cwd() / CONFIG_FILE
        if not candidate.exists():
            return Config()
        path = candidate
    data = load_toml(path)
    cfg = Config(path=path)
    for key, value in data.items():
        if key not in _SECTIONS:
            raise ConfigError(
                f"{path}: unknown section [{key}]; allowed: {', '.join(sorted(_SECTIONS))}"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: [{key}] must be a table")
        setattr(cfg, key, fill_dataclass(_SECTIONS[key], value, f"{path} [{key}]"))
    _validate(cfg, path)
    return cfg


# Numeric settings and their allowed ranges (inclusive): (section, key) → (low, high, unit).
RANGES: dict[tuple[str, str], tuple[float, float, str]] = {
    ("render", "loudness_lufs"): (-40.0, -10.0, "LUFS"),
    ("render", "true_peak_dbtp"): (-10.0, 0.0, "dBTP"),
    ("edge", "concurrency"): (1, 64, "requests"),
    ("edge", "timeout_s"): (1.0, 600.0, "s"),
    ("edge", "retries"): (0, 20, "retries"),
    ("fetch", "timeout_s"): (1.0, 300.0, "s"),
    ("fetch", "max_mb"): (0.1, 500.0, "MB"),
    ("follow", "limit"): (1, 1000, "entries"),
    ("follow", "poll_minutes"): (1.0, 10080.0, "minutes"),
    ("music", "fade_ms"): (0, 10_000, "ms"),
}


def _validate(cfg: Config, path: Path) -> None:
    for (section, key), (low, high, unit) in RANGES.items():
        value = getattr(getattr(cfg, section), key)
        if not low <= value <= high:  # also false for NaN
            raise ConfigError(f"{path} [{section}] {key} = {value!r} is out of range; allowed: {low:g} to "
                              f"{high:g} {unit}")
    check_base_url(cfg.show.base_url, str(path))
    check_category(cfg.show.category, cfg.show.subcategory, str(path))
    choices = {
        ("feed", "items"): ("episodes", "chapters"),
        ("feed", "type"): ("episodic", "serial"),
        ("render", "engine"): ("auto", *ENGINE_NAMES),
    }
    for (section, key), allowed in choices.items():
        value = getattr(getattr(cfg, section), key)
        if value not in allowed:
            raise ConfigError(
                f"{path} [{section}] {key} = {value!r}; allowed: {', '.join(allowed)}"
            )
    for pattern in cfg.boilerplate.patterns:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise ConfigError(f"{path} [boilerplate] patterns: bad regex {pattern!r}: {exc}") from exc
    for url in cfg.follow.feeds:
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            raise ConfigError(f"{path} [follow] feeds: {url!r} is not an http(s) URL; list the feeds' addresses, "
                              'e.g. feeds = ["https://example.com/feed.xml"]')
    feed_file = cfg.feed.file
    if (not feed_file or feed_file != Path(feed_file).name or feed_file.startswith(".") or "\\" in feed_file
            or feed_file == "index.html" or not feed_file.endswith((".rss", ".xml"))):
        raise ConfigError(f"{path} [feed] file = {feed_file!r} must be a plain file name ending in .rss (or .xml), "
                          "like feed.rss; the feed is written at the top of the site")
    if cfg.render.bitrate_kbps not in (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192):
        raise ConfigError(f"{path} [render] bitrate_kbps must be an MPEG-1 Layer III CBR rate, e.g. 64")


# ---------------------------------------------------------------------------------------
# Voice profiles (voices/<name>.toml)


@dataclass
class PauseConfig:
    sentence_ms: int = 350
    clause_ms: int = 250  # between pieces of a long sentence split at a comma
    paragraph_ms: int = 700
    subheading_ms: int = 600
    heading_ms: int = 900
    chapter_ms: int = 1500


@dataclass
class VoiceProfile:
    name: str = "default"
    edge_voice: str = "zh-CN-XiaoxiaoNeural"
    quote_voice: str = ""  # optional second edge voice for quotations
    local_voice: str = "baker"
    kokoro_voice: str = "zm_yunxi"  # measured best of the eight on the sample (README: Voices)
    kokoro_quote_voice: str = ""  # optional second Kokoro voice for quotations
    rate: str = "+0%"
    pitch: str = "+0Hz"
    volume: str = "+0%"
    pauses: PauseConfig = field(default_factory=PauseConfig)


_PERCENT = re.compile(r"^([+-]\d{1,3})%$")
_HERTZ = re.compile(r"^([+-]\d{1,4})Hz$")
_VOICE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}(-[A-Za-z]+)?-[A-Za-z]+Neural$")
# Prosody settings: (pattern, lowest, highest, example). The service takes rate from -50% (half speed)
# to +100% (double); the local voice does too.
PROSODY = {"rate": (_PERCENT, -50, 100, "+10%"), "volume": (_PERCENT, -100, 100, "-10%"),
           "pitch": (_HERTZ, -200, 200, "-20Hz")}


def load_profile(name: str = "default", directory: Path | None = None) -> VoiceProfile:
    """Load voices/<name>.toml (or a path to a .toml file)."""
    candidate = Path(name)
    if candidate.suffix == ".toml":
        path = candidate
    else:
        path = (directory or voices_dir()) / f"{name}.toml"
        if not path.exists():
            known = sorted(p.stem for p in path.parent.glob("*.toml") if p.stem != "lexicon")
            raise ConfigError(f"voice profile {name!r} not found in {path.parent}; known: {', '.join(known)}")
    data = load_toml(path)
    pauses = data.pop("pauses", {})
    if not isinstance(pauses, dict):
        raise ConfigError(f"{path}: [pauses] must be a table")
    profile = fill_dataclass(VoiceProfile, data, str(path))
    profile.pauses = fill_dataclass(PauseConfig, pauses, f"{path} [pauses]")
    for key, value in vars(profile.pauses).items():
        if not 0 <= value <= 10_000:
            raise ConfigError(f"{path} [pauses] {key} = {value} is out of range; allowed: 0 to 10000 ms")
    for key, (pattern, low, high, example) in PROSODY.items():
        value = getattr(profile, key)
        match = pattern.match(value)
        if match is None or not low <= int(match.group(1)) <= high:
            unit = "Hz" if key == "pitch" else "%"
            raise ConfigError(f"{path}: {key} = {value!r} must be like {example}, from {low:+d}{unit} to "
                              f"{high:+d}{unit}")
    for info in ENGINES.values():  # offline engines list their voices; edge's are checked above
        for key in filter(None, (info.voice_key, info.quote_key)):
            value = getattr(profile, key)
            if info.voices and value and value not in info.voices:
                raise ConfigError(f"{path}: {key} = {value!r} is not a voice of the {info.name} engine; "
                                  f"allowed: {', '.join(info.voices)}")
    for key in ("edge_voice", "quote_voice"):
        value = getattr(profile, key)
        if value and not _VOICE.match(value):
            raise ConfigError(f"{path}: {key} = {value!r} is not an edge voice name like zh-CN-XiaoxiaoNeural")
    return profile
