"""Human-readable output for the CLI (rich). Library code logs; only the CLI prints."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..models import Script
from ..render.changes import format_changes
from ..render.plan import chapter_estimate_ms
from ..store.manifest import MusicRecord

if TYPE_CHECKING:
    from edge_tts.typing import Voice as EdgeVoice

    from ..publish.deploy import PublishReport
    from ..render.follow import EntryOutcome, FollowReport
    from ..render.pipeline import RenderResult
    from ..tts.registry import EngineInfo

FIRST_SPOKEN = 3  # spoken forms shown per chapter


def fmt_ms(ms: float) -> str:
    s = int(round(ms / 1000))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def print_plan(console: Console, script: Script) -> None:
    console.print(Text(script.title, style="bold"))
    console.print(f"author: {script.author or '—'}   language: {script.language}   "
                  f"engine: {script.engine}   source: {script.source}", highlight=False)
    # Where each chapter came from, when that is more than the article: an EPUB's spine item, a page's anchor.
    origins = any(ch.source and ch.source != script.source for ch in script.chapters)
    table = Table(title="chapters", show_lines=False)
    columns = [("#", "right"), ("title", "left"), ("sentences", "right"), ("est. duration", "right")]
    for col, justify in columns + ([("from", "left")] if origins else []):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    total = 0
    for ch in script.chapters:
        est = chapter_estimate_ms(ch)
        total += est
        table.add_row(str(ch.index), ch.title, str(len(ch.sentences)), fmt_ms(est),
                      *([ch.source or script.source] if origins else []))
    table.add_row("", Text("total", style="bold"), str(sum(len(c.sentences) for c in script.chapters)), fmt_ms(total))
    console.print(table)

    for ch in script.chapters:
        console.print(Text(f"\n{ch.index}. {ch.title}", style="bold"))
        for s in ch.sentences[:FIRST_SPOKEN]:
            console.print(Text.assemble("  ", (f"{s.kind:<10}", "dim"), " ", s.text))
            if s.spoken != s.text:
                console.print(Text.assemble("  ", (f"{'  spoken':<10}", "dim"), " ", (s.spoken, "green")))
        if len(ch.sentences) > FIRST_SPOKEN:
            console.print(Text(f"  … {len(ch.sentences) - FIRST_SPOKEN} more", style="dim"))

    if script.dropped:
        console.print(Text.assemble("\n", ("not narrated", "bold"), f" ({len(script.dropped)} lines)"))
        for d in script.dropped:
            where = f"{d.source}:{d.line}" if d.source else f"line {d.line:>3}"
            console.print(Text.assemble(f"  {where} ", (f"{d.rule:<18}", "dim"), " ", d.text[:70]))
    if script.garbled:
        console.print(Text.assemble("\n", ("garbled text", "bold yellow"), f" ({len(script.garbled)} spans)"))
        for g in script.garbled:
            fix = f"→ {g.replacement}" if g.action == "repaired" else "clause dropped"
            console.print(Text.assemble(f"  {g.line}:{g.col} {g.original!r} ", (g.action, "yellow"), f" {fix}"))
    hits = Counter(h for ch in script.chapters for s in ch.sentences for h in s.lexicon_hits)
    if hits:
        console.print(Text.assemble("\n", ("lexicon", "bold"), f" ({sum(hits.values())} hits)"))
        console.print("  " + ", ".join(f"{k}×{v}" for k, v in hits.most_common()))


class RenderProgress:
    """Progress on stderr: on a terminal, a bar per chapter while synthesizing, then a line per stage;
    piped or redirected, plain lines (a chapter's progress at each quarter, and each stage)."""

    PLAIN_STEPS = 4  # lines per chapter when not on a terminal

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.live = console.is_terminal
        self._progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=console, transient=False, disable=not self.live)
        self._tasks: dict[int, object] = {}
        self._printed: dict[int, int] = {}  # chapter → steps printed (plain mode)

    def __enter__(self) -> RenderProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)  # type: ignore[arg-type]

    def advance(self, chapter: int, done: int, total: int) -> None:
        if not self.live:
            step = self.PLAIN_STEPS * done // max(total, 1)
            if step > self._printed.get(chapter, 0) or (done == 0 and chapter not in self._printed):
                self._printed[chapter] = step
                self.console.print(f"synthesizing chapter {chapter}: {done}/{total}")
            return
        if chapter not in self._tasks:
            self._tasks[chapter] = self._progress.add_task(f"synthesizing chapter {chapter}", total=total)
        self._progress.update(self._tasks[chapter], completed=done)  # type: ignore[arg-type]

    def stage(self, text: str) -> None:
        self._progress.console.print(Text(text, style="dim"))


def print_render(console: Console, result: RenderResult) -> None:
    produced = result.produced
    synth = result.synth
    console.print(Text.assemble((result.script.title, "bold"), f" → {result.folder}"))
    console.print(f"engine: {result.engine.name} ({result.engine.reason})", highlight=False)
    table = Table(show_header=True)
    for col in ("#", "file", "duration", "LUFS", "dBTP", ""):
        table.add_column(col)
    for c in produced.chapters:
        table.add_row(str(c.index), c.file, fmt_ms(c.duration_ms), f"{c.lufs:.1f}", f"{c.true_peak_dbtp:.1f}",
                      "rebuilt" if c.rebuilt else "kept")
    e = produced.episode
    for role, parts in _music_rows(e.music):
        m = parts[0]
        name = f"{role}: {Path(m.source).name}" + (f" ×{len(parts)}" if len(parts) > 1 else "")
        table.add_row("♪", name, fmt_ms(m.duration_ms), f"{m.lufs:.1f}", f"{m.true_peak_dbtp:.1f}",
                      "encoded" if m.encoded else "copied")
    table.add_row("", e.file, fmt_ms(e.duration_ms), f"{e.lufs:.1f}", f"{e.true_peak_dbtp:.1f}",
                  "rebuilt" if e.rebuilt else "kept")
    console.print(table)
    console.print(f"segments: {synth.total} sentences, {synth.unique} distinct, {synth.cached} cached, "
                  f"{synth.synthesized} synthesized; time: "
                  + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings_s.items()), highlight=False)
    if result.feed:
        console.print(f"feed: {result.feed}", highlight=False)
    if result.changes:
        console.print(format_changes(result.changes, sum(result.timings_s.values())), highlight=False, soft_wrap=True)


def _music_rows(records: list[MusicRecord]) -> list[tuple[str, list[MusicRecord]]]:
    """The episode's music parts by role, in order of first appearance (a transition plays several times)."""
    rows: dict[str, list[MusicRecord]] = {}
    for record in records:
        rows.setdefault(record.role, []).append(record)
    return list(rows.items())


def print_voices(console: Console, voices: list[EdgeVoice]) -> None:
    table = Table(title=f"{len(voices)} voices")
    for col in ("ShortName", "Gender", "Locale", "Personalities"):
        table.add_column(col)
    for voice in voices:
        v = cast("dict[str, Any]", voice)  # the service's JSON: a voice may lack a field its type promises
        tags = v.get("VoiceTag") or {}
        table.add_row(v.get("ShortName", ""), v.get("Gender", ""), v.get("Locale", ""),
                      ", ".join(tags.get("VoicePersonalities") or []))
    console.print(table)


@contextlib.contextmanager
def publish_progress(console: Console) -> Iterator[Callable[[int, int, str], None]]:
    """A bar while `publish` copies files (on a terminal; a line per file otherwise)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if not console.is_terminal:
        yield lambda done, total, name: console.print(f"copied {done}/{total} {name}", markup=False,
                                                       highlight=False, soft_wrap=True)
        return
    with Progress(TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("publishing", total=None)
        yield lambda done, total, _name: bar.update(task, completed=done, total=total)


def print_publish(console: Console, report: PublishReport) -> None:
    console.print(f"published to {report.dest}: {len(report.copied)} files copied, {report.unchanged} unchanged, "
                  f"{len(report.deleted)} deleted", markup=False, highlight=False, soft_wrap=True)
    if report.others:
        console.print(f"left alone: {report.others} files in {report.dest} that audiobook did not publish",
                      markup=False, highlight=False, soft_wrap=True)
    console.print(f"show page: {report.page_url}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"subscribe: {report.feed_url}", markup=False, highlight=False, soft_wrap=True)


# What was measured of each Kokoro voice on plain sentences (Whisper round trip, syllable error rate).
KOKORO_NOTES = {"zf_xiaoni": "higher error rate (11 %): not recommended", "zf_xiaoyi": "default narrator",
                "zm_yunxi": "suggested second voice for quotations"}


def print_offline_voices(console: Console, info: EngineInfo) -> None:
    table = Table(title=f"{len(info.voices)} voices of the {info.name} engine")
    for col in ("name", "gender", "note"):
        table.add_column(col)
    for name in info.voices:
        gender = {"f": "female", "m": "male"}.get(name[1:2], "female") if "_" in name else "female"
        table.add_row(name, gender, KOKORO_NOTES.get(name, ""))
    console.print(table)


_FOLLOW_STYLE = {"new": "green", "updated": "cyan", "unchanged": "dim", "retired": "yellow", "failed": "bold red",
                 "would render": "cyan"}


def print_follow_outcome(console: Console, outcome: EntryOutcome) -> None:
    """One line per feed entry as it is done: `new 标题 (URL): 12 sentences → 12 synthesized …`."""
    detail = f": {outcome.detail}" if outcome.detail else ""
    console.print(Text.assemble((f"{outcome.status:<9}", _FOLLOW_STYLE.get(outcome.status, "")), " ",
                                (outcome.title or outcome.link, "bold"), f" ({outcome.link}){detail}"), soft_wrap=True)


def print_follow_report(console: Console, err_console: Console, report: FollowReport) -> None:
    if report.error:
        err_console.print(Text.assemble(("error:", "bold red"), f" {report.error}"), soft_wrap=True)
        return
    counts = Counter(o.status for o in report.outcomes)
    summary = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no entries"
    console.print(Text(f"{report.feed_title or report.feed_url}: {summary}"), soft_wrap=True)
    if report.beyond_limit:
        console.print(Text(f"  {report.beyond_limit} older entries are beyond the limit: not rendered (episodes "
                           "rendered from them earlier stay in the show)"), soft_wrap=True)
    if report.left_feed:
        console.print(Text(f"  {len(report.left_feed)} entries rendered earlier are no longer in the feed; their "
                           "episodes stay in the show (`audiobook retire` takes one out): "
                           + "、".join(report.left_feed)), soft_wrap=True)
