"""Outputs: ID3 tags (with chapters), caption and chapter sidecars, cover art (publish.cover, which
imports Pillow: only when a cover is drawn or checked)."""

from .sidecars import Cue, write_chapters_json, write_srt, write_vtt
from .tags import ChapterMark, EpisodeTags, write_chapter_tags, write_episode_tags

__all__ = [
    "ChapterMark",
    "Cue",
    "EpisodeTags",
    "write_chapter_tags",
    "write_chapters_json",
    "write_episode_tags",
    "write_srt",
    "write_vtt",
]
