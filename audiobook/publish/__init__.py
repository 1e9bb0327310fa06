"""Outputs: ID3 tags (with chapters), caption and chapter sidecars, cover art, safe file names."""

from .cover import generate_cover, load_cover
from .sidecars import Cue, write_chapters_json, write_srt, write_vtt
from .slug import slugify
from .tags import ChapterMark, EpisodeTags, write_chapter_tags, write_episode_tags

__all__ = [
    "ChapterMark",
    "Cue",
    "EpisodeTags",
    "generate_cover",
    "load_cover",
    "slugify",
    "write_chapter_tags",
    "write_chapters_json",
    "write_episode_tags",
    "write_srt",
    "write_vtt",
]
