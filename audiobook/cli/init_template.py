"""`audiobook init`: write a commented audiobook.toml holding every setting at its default.

Values come from the dataclasses in config.py, so the template can't drift from the loader; only
the comments are written here. A key without a comment still appears (tests insist on one).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import fields
from pathlib import Path

from ..config import _SECTIONS, CONFIG_FILE
from ..errors import ConfigError

HEADER = """\
# audiobook.toml: settings for `audiobook render`, `feed`, `serve` and `publish`.
# Every key is shown at its default; delete the ones you don't change. Unknown keys are errors.
"""

SECTION_NOTES = {
    "show": "The podcast: one show for everything rendered into the output folder.",
    "feed": "The RSS feed written into the output folder.",
    "render": "Defaults for `audiobook render` (command-line options override them).",
    "boilerplate": "Lines not to narrate (credits, disclaimers), beyond the built-in rules.",
    "edge": "The online edge voice service (engine = \"edge\" or \"auto\").",
    "fetch": "Fetching web pages and feeds (`render URL`, `follow`).",
    "follow": "`audiobook follow` with no URL follows these feeds; `watch --follow` polls them.",
    "music": "Your own audio around the narration, at its loudness (`render --no-music` leaves it out).",
}

COMMENTS = {
    ("show", "title"): "Show title; empty = the article's title (with one article).",
    ("show", "author"): "Show author; empty = the articles' authors.",
    ("show", "owner_name"): "Owner shown to Apple (itunes:owner); empty = author.",
    ("show", "owner_email"): ("Owner e-mail (itunes:email, podcast:locked owner); Apple verifies "
                                "ownership with it."),
    ("show", "language"): "Language code, e.g. zh-CN, zh-TW, en.",
    ("show", "category"): "Apple Podcasts category, e.g. \"Arts\", \"Education\", \"News\", \"Technology\".",
    ("show", "subcategory"): "Optional subcategory of that category, e.g. \"Books\" under \"Arts\".",
    ("show", "explicit"): "itunes:explicit (written as true/false).",
    ("show", "description"): "Show description (at most 4000 bytes); empty = from the articles.",
    ("show", "cover"): "Show art: a path (relative to this file) or an https URL; square JPEG/PNG, "
                       "1400-3000 px. Empty = a cover drawn from the show's title.",
    ("show", "base_url"): "The public URL of the site (what `audiobook publish` copies); the feed's "
                          "links start with it. Use https for a public feed.",
    ("show", "link"): "Show web page; empty = base_url (the show page audiobook writes).",
    ("show", "guid"): "podcast:guid; empty = derived from the feed URL. Set it (keep the old value) "
                      "when the feed moves.",
    ("show", "locked"): "podcast:locked: true asks other hosts to refuse importing this feed.",
    ("feed", "file"): "Feed file name at the top of the site. .rss: stock web servers send it as "
                      "application/rss+xml (nginx sends .xml as text/xml without a charset).",
    ("feed", "items"): "\"episodes\" = one item per article (full MP3 with chapters inside); "
                       "\"chapters\" = one item per chapter (a serial show).",
    ("feed", "type"): "itunes:type: \"episodic\" (newest first) or \"serial\" (in order); "
                      "items = \"chapters\" is always serial.",
    ("render", "output"): "Output folder: site/ (public: publish it) and state/ (private bookkeeping).",
    ("render", "engine"): "Speech engine: \"auto\" (edge if reachable, else local), \"local\" (offline, fast), "
                          "\"kokoro\" (offline, eight voices that read English, slower) or \"edge\".",
    ("render", "voice"): "Voice profile name under voices/.",
    ("render", "bitrate_kbps"): "MP3 bitrate (CBR, mono 44.1 kHz).",
    ("render", "loudness_lufs"): "Integrated loudness target (mono; -19 LUFS is the podcast norm).",
    ("render", "true_peak_dbtp"): "True-peak ceiling in dBTP.",
    ("boilerplate", "patterns"): "Regular expressions matched against a whole line, e.g. ['^本文来源.*$'].",
    ("boilerplate", "disable"): "Names of built-in rules to switch off.",
    ("edge", "wss_url"): "Override the service's WebSocket URL (empty = edge-tts default).",
    ("edge", "voices_url"): "Override the voice list URL (empty = edge-tts default).",
    ("edge", "proxy"): "HTTP proxy for the service, e.g. http://127.0.0.1:7890.",
    ("edge", "concurrency"): "Requests in flight at once (1-64).",
    ("edge", "timeout_s"): "Seconds to wait for one sentence before retrying.",
    ("edge", "retries"): "Attempts per sentence before giving up.",
    ("fetch", "timeout_s"): "Seconds to wait for a server (1-300); a whole download may take three times this.",
    ("fetch", "max_mb"): "Largest page, feed or image accepted, in MB.",
    ("fetch", "user_agent"): "User-Agent sent with each request; empty = audiobook/VERSION (article narrator).",
    ("follow", "feeds"): "RSS/Atom feed URLs to follow, e.g. [\"https://example.com/feed.xml\"].",
    ("follow", "limit"): "How many of each feed's newest entries are rendered (1-1000).",
    ("follow", "poll_minutes"): "How often `audiobook watch --follow` reads the feeds again (1-10080).",
    ("music", "intro"): ("Music before the first chapter: a file ffmpeg reads (mp3, m4a, wav, ogg, flac), "
                         "relative to this file; at most 5 minutes. Empty = none. An article's front matter "
                         "`intro:` overrides it (`intro: none` for none)."),
    ("music", "outro"): "Music after the last chapter (like intro; front matter `outro:`).",
    ("music", "transition"): ("A short sting between chapters, at most 1 minute (front matter "
                              "`transition:`)."),
    ("music", "fade_ms"): ("Fade where music meets the voice (the intro's end, the outro's start, both "
                           "ends of a transition), 0-10000 ms."),
}


def toml_value(value: object) -> str:
    """A TOML literal for the simple values config.py uses (str, bool, int, float, list of those)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def config_template() -> str:
    lines = [HEADER]
    for section, cls in _SECTIONS.items():
        lines.append(f"# {SECTION_NOTES.get(section, '')}".rstrip())
        lines.append(f"[{section}]")
        defaults = cls()
        for f in fields(cls):
            comment = COMMENTS.get((section, f.name))
            if comment:
                lines += [f"# {line}" for line in textwrap.wrap(comment, 96)]
            lines.append(f"{f.name} = {toml_value(getattr(defaults, f.name))}")
        lines.append("")
    return "\n".join(lines)


def write_config_template(path: Path | None = None) -> Path:
    """Write the template to `path` (default ./audiobook.toml); never overwrite an existing file."""
    path = path or Path(CONFIG_FILE)
    try:
        with path.open("x", encoding="utf-8") as fh:
            fh.write(config_template())
    except FileExistsError:
        raise ConfigError(f"{path} already exists; edit it, or move it away and run `audiobook init` "
                          "again") from None
    except OSError as exc:
        raise ConfigError(f"could not write {path}: {exc.strerror or exc}; check the folder") from exc
    return path
