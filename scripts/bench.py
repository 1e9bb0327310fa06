"""The project's benchmark, on the real sample (../shared/corpus/deepseek-essay.txt or --article).

    uv run python scripts/bench.py                      # = local
    uv run python scripts/bench.py edit --scales 1,4    # one-sentence edit, sample and 4x the sample
    uv run python scripts/bench.py edge                 # edge engine against the fake service
    uv run python scripts/bench.py kokoro               # the Kokoro voice: cold render (~4 min)
    uv run python scripts/bench.py local edit edge --json > bench.json

Timings on a small shared machine are noisy, so each mode reports ratios measured within one run.

local  Cold render (`audiobook render --engine local` as a subprocess, fresh output folder and
       fresh AUDIOBOOK_CACHE_DIR): audio length, wall time, seconds per stage (render.json),
       synthesis real-time factor, wall/audio (target <= 0.04), peak RSS of the process tree
       (render process + forkserver + pool workers, sampled every 0.1 s; shared pages count once per
       process) and the render process's ru_maxrss. Then a warm re-render: 0 segments synthesized,
       target < 10 % of the cold wall time.
kokoro The same cold and warm renders with `--engine kokoro` (target: wall/audio <= 0.25).
kokoro-shipped  The same with the Kokoro model's graph as shipped (AUDIOBOOK_KOKORO_GRAPH=shipped,
       see audiobook/tts/kokoro/graph.py); run with `kokoro` to get the rewrite's ratio in one run.
edit   Per scale in --scales (default 1,4): cold render of the sample's body repeated that many
       times (every copy's sentences and chapter headings made distinct with "（第N遍）"), then the
       first paragraph of chapter 3 changed by one word and re-rendered. Target: the re-render takes
       <= 10 % of the cold render, and the fraction shrinks as the article grows. The 16x article
       (3.4 h of audio: ~11 CPU-minutes, ~6 min of wall time on 2 cores, measured 2026-11-30) is
           uv run python scripts/bench.py edit --scales 1,4,16
       With --music, the renders have an intro and an outro (15 s tones the bench makes with ffmpeg,
       in [music] of an audiobook.toml in the render's folder): compare with a run without.
edge   EdgeEngine against the fake Edge service (in its own process, as the real service is remote)
       answering after --latency (0.3 s) per request: the sample's sentences at concurrency 1 vs the
       default cap (target >= 6x faster), and at --edge-scales (1,4,16) copies of the sentences at
       the cap (should grow ~linearly).
       The fake renders every distinct sentence once before timing, so what is measured is the
       engine (connections, streaming, decoding, the cap), not the fake's synthesis.

Renders run as `python -m audiobook` subprocesses with bytecode caching on (PYTHONDONTWRITEBYTECODE
removed from their environment), as for a user after the first run.

Exits 0 with a message when the sample is absent (a fresh clone without ../shared).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT.parent / "shared/corpus/deepseek-essay.txt"
MODES = ("local", "kokoro", "kokoro-shipped", "edit", "edge")

TARGET_WALL_PER_AUDIO = 0.04
TARGET_KOKORO_WALL_PER_AUDIO = 0.25
TARGET_WARM_FRACTION = 0.10
TARGET_EDIT_FRACTION = 0.10
TARGET_EDGE_SPEEDUP = 6.0

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024
EDIT_WORD = "其實，"  # prefixed to one paragraph: changes exactly its first sentence
# Punctuation, closing quotes and spaces at the end of a segment: the copy mark goes before them.
_TRAILING_MARKS = re.compile(r"[\s。！？!?；;｡，,：:—、…⋯.」』”’')）】》〉］\]\"]*$")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- memory


def process_table(proc: Path = Path("/proc")) -> dict[int, tuple[int, int, int]]:
    """pid → (parent pid, resident bytes, own CPU ticks) for every process readable right now."""
    table: dict[int, tuple[int, int, int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text()
        except OSError:  # gone since listdir, or not ours to read
            continue
        fields = stat.rsplit(")", 1)[1].split()  # the command name may contain spaces and ')'
        table[int(entry.name)] = (int(fields[1]), int(statm.split()[1]) * PAGE_BYTES,
                                  int(fields[11]) + int(fields[12]))  # utime + stime
    return table


def descendants(table: dict[int, tuple[int, int, int]], root: int) -> list[int]:
    """`root` (if present) and every process below it."""
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, *_) in table.items():
        children[ppid].append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in table and pid not in found:
            found.append(pid)
            stack.extend(children.get(pid, ()))
    return found


def tree_rss(table: dict[int, tuple[int, int, int]], root: int) -> int:
    """Summed resident bytes of `root` and all its descendants."""
    return sum(table[pid][1] for pid in descendants(table, root))


class TreeSampler(threading.Thread):
    """Polls the process tree under `pid` every `interval_s`: `.peak_rss` is the largest summed
    RSS seen; `.cpu_s()` the CPU seconds each process had used when last seen (a process's last
    interval before it exits is missed), which, unlike wall time, hardly depends on machine load."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_s, self.peak_rss = pid, interval_s, 0
        self._ticks: dict[int, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            table = process_table()
            tree = descendants(table, self.pid)
            self.peak_rss = max(self.peak_rss, sum(table[pid][1] for pid in tree))
            self._ticks.update((pid, table[pid][2]) for pid in tree)
            self._stop_event.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def cpu_s(self) -> float:
        return sum(self._ticks.values()) / CLOCK_TICKS


# ---------------------------------------------------------------------------------- rendering


@dataclass
class RenderRun:
    wall_s: float
    peak_tree_rss: int  # bytes
    cpu_s: float  # CPU seconds of the process tree
    max_rss: int  # bytes: ru_maxrss of the render process (its largest waited-for process)
    report: dict[str, Any]  # render.json

    @property
    def synthesized(self) -> int:
        return int(self.report["segments"]["synthesized"])

    @property
    def audio_s(self) -> float:
        return self.report["episode"]["duration_ms"] / 1000.0

    def summary(self) -> dict[str, Any]:
        return {"wall_s": self.wall_s, "cpu_s": self.cpu_s, "timings_s": self.report["timings_s"],
                "synthesized": self.synthesized, "peak_tree_rss_mb": round(self.peak_tree_rss / MB),
                "max_rss_mb": round(self.max_rss / MB)}


def run_render(article: Path, workdir: Path, engine: str = "local", extra_env: dict[str, str] | None = None) \
        -> RenderRun:
    """`audiobook render --engine ENGINE` in a subprocess, output and cache under `workdir` (run
    twice with the same workdir for a warm render). cwd is workdir, so no audiobook.toml applies."""
    out, cache = workdir / "output", workdir / "cache"
    cmd = [sys.executable, "-m", "audiobook", "render", str(article.resolve()), "--engine", engine, "-o", str(out)]
    env = {**os.environ, "AUDIOBOOK_CACHE_DIR": str(cache), **(extra_env or {})}
    # As on a normal install, where Python caches bytecode after the first run: with
    # PYTHONDONTWRITEBYTECODE=1 (set in some containers) every render recompiles ~350 modules, ~1.5 s.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        # wait4 rather than getrusage(RUSAGE_CHILDREN): the latter is a max over every render so far.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode("utf-8", "replace")[-2000:]
            raise SystemExit(f"render failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    (report_path,) = out.glob("state/*/render.json")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return RenderRun(round(wall, 2), sampler.peak_rss, round(sampler.cpu_s(), 1), usage.ru_maxrss * 1024, report)


def bench_local(article: Path, engine: str = "local", target: float = TARGET_WALL_PER_AUDIO,
                extra_env: dict[str, str] | None = None, label: str = "") -> dict[str, Any]:
    label = label or engine
    with tempfile.TemporaryDirectory(prefix="audiobook-bench-") as tmp:
        log(f"{label}: cold render of {article} …")
        cold = run_render(article, Path(tmp), engine, extra_env)
        log(f"{label}: cold {cold.wall_s:.1f} s; warm re-render …")
        warm = run_render(article, Path(tmp), engine, extra_env)
    audio_s = cold.audio_s
    return {
        "engine": engine,
        "article": str(article),
        "sentences": cold.report["segments"]["total"],
        "chapters": len(cold.report["chapters"]),
        "audio_s": round(audio_s, 1),
        "cold": cold.summary(),
        "synthesis_rtf": round(cold.report["timings_s"]["synthesize"] / audio_s, 4),
        "wall_per_audio": round(cold.wall_s / audio_s, 4),
        "cpu_per_audio": round(cold.cpu_s / audio_s, 4),
        "target_wall_per_audio": target,
        "warm": warm.summary(),
        "warm_fraction": round(warm.wall_s / cold.wall_s, 4),
        "target_warm_fraction": TARGET_WARM_FRACTION,
    }


# ---------------------------------------------------------------------------------- edit


@dataclass
class ArticleParts:
    head: list[str]  # before the first chapter heading: kept once
    body: list[str]  # the chapters: repeated
    tail: list[str]  # trailing lines that are not narrated (credits, disclaimers): kept once
    headings: set[int]  # indexes into body of chapter headings


def split_article(lines: list[str], heading_lines: Iterable[int], dropped_lines: Iterable[int]) -> ArticleParts:
    """Cut an article (its lines; 1-based line numbers of chapter headings and of lines the plan
    drops) into head, body and tail. Without chapter headings the body is everything after line 1."""
    headings = sorted(heading_lines)
    first = headings[0] - 1 if headings else 1
    dropped = set(dropped_lines)
    end = len(lines)
    while end > first and (end in dropped or not lines[end - 1].strip()):
        end -= 1
    return ArticleParts(lines[:first], lines[first:end], lines[end:], {h - 1 - first for h in headings})


def mark_copy(line: str, copy: int, heading: bool) -> str:
    """Make a line of copy N distinct segment by segment: "（第N遍）" at the end of a heading, and
    before the closing punctuation of every piece the segmenter makes of a paragraph (a sentence,
    or a clause of a long one), so no segment of one copy is a cache hit for another's."""
    from audiobook.text.segment import segment

    mark = f"（第{copy}遍）"
    if not line.strip():
        return line
    if heading:
        return line + mark
    return "".join(_TRAILING_MARKS.sub(lambda m: mark + m.group(0), piece, count=1)
                   if _TRAILING_MARKS.search(piece).start() else piece  # type: ignore[union-attr]
                   for piece, _ in segment(line))


def scaled_article(parts: ArticleParts, copies: int) -> str:
    """The article with its body `copies` times: copy 1 is the original text, the others its
    garble-repaired text (a mark inside a misread run would change the repair) marked distinct."""
    from audiobook.text.garble import repair_line

    lines = list(parts.head) + list(parts.body)
    repaired = [repair_line(line, 0)[0] for line in parts.body] if copies > 1 else []
    for copy in range(2, copies + 1):
        lines += [mark_copy(line, copy, i in parts.headings) for i, line in enumerate(repaired)]
    return "\n".join(lines + parts.tail) + "\n"


def edit_one_sentence(text: str, parts: ArticleParts) -> str:
    """Change the first sentence of chapter 3's first paragraph (chapter 1 being the opening before
    the first heading): prefix it with a word. Falls back to an earlier chapter in short articles."""
    headings = sorted(parts.headings)
    after = headings[min(1, len(headings) - 1)] if headings else -1
    target = next(i for i in range(after + 1, len(parts.body)) if parts.body[i].strip() and i not in parts.headings)
    original = parts.body[target]
    lines = text.split("\n")
    index = len(parts.head) + target
    assert lines[index] == original
    lines[index] = EDIT_WORD + original
    return "\n".join(lines)


def article_parts(article: Path) -> tuple[str, ArticleParts]:
    from audiobook.config import Config
    from audiobook.text.decode import read_article
    from audiobook.text.ingest import ingest

    text, _ = read_article(article)
    document = ingest(article, Config().boilerplate)
    headings = [b.line for b in document.blocks if b.kind == "heading" and b.level == 1]
    return text, split_article(text.split("\n"), headings, [d.line for d in document.dropped])


def write_music_config(folder: Path) -> None:
    """An audiobook.toml with an intro and an outro (15 s chords, AAC and FLAC) in `folder`, the
    renders' working folder, so that they pick it up."""
    from audiobook.audio.ffmpeg import ffmpeg_exe

    for name, low, codec in (("intro.m4a", 523.25, "aac"), ("outro.flac", 392.0, "flac")):
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"sine=frequency={low}:duration=15",
                        "-f", "lavfi", "-i", f"sine=frequency={low * 1.5}:duration=15",
                        "-filter_complex", "amix=inputs=2,volume=6", "-c:a", codec, str(folder / name)],
                       check=True, timeout=120)
    (folder / "audiobook.toml").write_text('[music]\nintro = "intro.m4a"\noutro = "outro.flac"\n', encoding="utf-8")


def bench_edit(article: Path, scales: list[int], music: bool = False) -> dict[str, Any]:
    _, parts = article_parts(article)
    rows: list[dict[str, Any]] = []
    for scale in scales:
        if rows:
            per_copy = rows[0]["cold_wall_s"] / rows[0]["scale"]
            log(f"edit: {scale}x — cold render estimated at ≈ {per_copy * scale / 60:.0f} min")
        with tempfile.TemporaryDirectory(prefix="audiobook-bench-") as tmp:
            path = Path(tmp) / f"article{article.suffix or '.txt'}"
            text = scaled_article(parts, scale)
            path.write_text(text, encoding="utf-8")
            if music:
                write_music_config(Path(tmp))
            log(f"edit: {scale}x — cold render{' with music' if music else ''} …")
            cold = run_render(path, Path(tmp))
            path.write_text(edit_one_sentence(text, parts), encoding="utf-8")
            log(f"edit: {scale}x — cold {cold.wall_s:.1f} s; one-sentence edit …")
            edited = run_render(path, Path(tmp))
        changes = edited.report["changes"]
        rows.append({
            "scale": scale,
            "sentences": cold.report["segments"]["total"],
            "distinct": cold.report["segments"]["unique"],
            "chapters": len(cold.report["chapters"]),
            "audio_s": round(cold.audio_s, 1),
            "cold_wall_s": cold.wall_s,
            "edit_wall_s": edited.wall_s,
            "cold_cpu_s": cold.cpu_s,
            "edit_cpu_s": edited.cpu_s,
            "edit_cpu_fraction": round(edited.cpu_s / cold.cpu_s, 4),
            "edit_fraction": round(edited.wall_s / cold.wall_s, 4),
            "edit_timings_s": edited.report["timings_s"],
            "sentences_changed": changes["sentences_changed"] + changes["sentences_added"],
            "synthesized": changes["segments_synthesized"],
            "chapters_rebuilt": changes["chapters_rebuilt"],
            "episode_rebuilt": changes["episode_rebuilt"],
            "music_encoded": changes.get("music_encoded", []),
        })
    fractions = [r["edit_fraction"] for r in rows]
    return {"article": str(article), "music": music, "scales": rows, "target_edit_fraction": TARGET_EDIT_FRACTION,
            "fraction_shrinks": all(b < a for a, b in zip(fractions, fractions[1:], strict=False))}


# ---------------------------------------------------------------------------------- edge


@contextmanager
def temporary_env(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the block; restore them after."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def fake_process(speech: str, latency_s: float) -> Iterator[tuple[str, str]]:
    """The fake Edge service in a process of its own, as the real service is on another machine:
    its websocket and audio work must not share this process's interpreter (the GIL) with the
    client being measured. Yields (wss_url, voices_url)."""
    from audiobook.testing.edge_service import TRUSTED_CLIENT_TOKEN, VOICES_PATH, WSS_PATH

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "audiobook.testing.edge_service", "--port", str(port),
                             "--speech", speech, "--latency", str(latency_s)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        if "fake edge TTS on" not in proc.stdout.readline():  # printed once it listens
            raise RuntimeError("the fake Edge service did not start")
        yield (f"ws://127.0.0.1:{port}{WSS_PATH}?TrustedClientToken={TRUSTED_CLIENT_TOKEN}",
               f"http://127.0.0.1:{port}{VOICES_PATH}?trustedclienttoken={TRUSTED_CLIENT_TOKEN}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def bench_edge(article: Path, scales: list[int], latency_s: float = 0.3, speech: str = "local",
               concurrency: int | None = None) -> dict[str, Any]:
    """EdgeEngine against the fake service, on the article's spoken sentences (copies of them for
    scales > 1: the same texts under distinct keys, each sent as its own request)."""
    from audiobook.config import EdgeConfig, load_config, load_profile
    from audiobook.models import SynthRequest
    from audiobook.render.pipeline import plan_article
    from audiobook.tts.choice import voice_for
    from audiobook.tts.edge import ENV_VOICES_URL, ENV_WSS_URL, EdgeEngine

    cap = concurrency or EdgeConfig().concurrency
    profile = load_profile("default")
    script = plan_article(article, load_config(None), profile, "edge")
    texts = [s.spoken for chapter in script.chapters for s in chapter.sentences]
    voice = voice_for("edge", profile)

    def requests(copies: int) -> list[SynthRequest]:
        return [SynthRequest(f"{c}:{i}", text, voice) for c in range(copies) for i, text in enumerate(texts)]

    with tempfile.TemporaryDirectory(prefix="audiobook-bench-") as cache, \
            temporary_env({"AUDIOBOOK_CACHE_DIR": cache,  # the fake's voice model is patched here
                           ENV_WSS_URL: None, ENV_VOICES_URL: None,  # the fake's endpoints come from the config
                           "NO_PROXY": "127.0.0.1,localhost"}), \
            fake_process(speech, latency_s) as (wss_url, voices_url):
        def timed(copies: int, limit: int, timeout_s: float = EdgeConfig().timeout_s) -> dict[str, Any]:
            engine = EdgeEngine(EdgeConfig(wss_url=wss_url, voices_url=voices_url, concurrency=limit,
                                           timeout_s=timeout_s))
            start = time.perf_counter()
            engine.synthesize(requests(copies), lambda _r, _s: None)
            wall = time.perf_counter() - start
            engine.close()
            # requests > sentences means retries
            return {"copies": copies, "concurrency": limit, "sentences": copies * len(texts),
                    "wall_s": round(wall, 2), "ms_per_sentence": round(1000 * wall / (copies * len(texts)), 1),
                    "requests": engine.attempts}

        log(f"edge: the fake renders its answers for {len(texts)} sentences ({speech} speech) …")
        # The fake renders one answer at a time: without a long timeout the queued requests of the
        # warm-up would time out and retry.
        timed(1, 2, timeout_s=3600)
        log("edge: concurrency 1 …")
        serial = timed(1, 1)
        runs = []
        for copies in scales:
            log(f"edge: {copies}x at concurrency {cap} …")
            runs.append(timed(copies, cap))
    base = next((r for r in runs if r["copies"] == 1), None) or one_copy_estimate(runs)
    for run in runs:
        run["wall_vs_1x"] = round(run["wall_s"] / base["wall_s"], 2)
    return {"article": str(article), "latency_s": latency_s, "speech": speech, "default_concurrency": cap,
            "serial": serial, "at_cap": runs, "speedup": round(serial["wall_s"] / base["wall_s"], 2),
            "target_speedup": TARGET_EDGE_SPEEDUP}


def one_copy_estimate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Scales without 1x: compare with the smallest run, scaled down to one copy."""
    smallest = min(runs, key=lambda r: r["copies"])
    return {**smallest, "wall_s": smallest["wall_s"] / smallest["copies"]}


# ---------------------------------------------------------------------------------- output


def _verdict(ok: bool) -> str:
    return "[green]ok[/]" if ok else "[red]missed[/]"


def _rebuilt(chapters: list[int], total: int) -> str:
    named = ", ".join(map(str, chapters)) if len(chapters) <= 3 else str(len(chapters))
    return f"ch. {named} of {total}"


def print_tables(results: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 140)  # a file or pipe gets whole rows

    def table(title: str, columns: list[str], rows: list[list[str]]) -> None:
        t = Table(title=title, title_justify="left")
        for i, col in enumerate(columns):
            t.add_column(col, justify="left" if i == 0 else "right")
        for row in rows:
            t.add_row(*row)
        console.print(t)

    for name in ("local", "kokoro", "kokoro-shipped"):
        if name not in results:
            continue
        r = results[name]
        c, w = r["cold"], r["warm"]
        target = r["target_wall_per_audio"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in c["timings_s"].items())
        table(f"{name} — {r['sentences']} sentences, {r['chapters']} chapters, {r['audio_s'] / 60:.1f} min of audio",
              ["measure", "value", "target", ""], [
                  ["cold wall time", f"{c['wall_s']:.1f} s", "", ""],
                  ["  stages (s)", stages, "", ""],
                  ["synthesis real-time factor", f"{r['synthesis_rtf']:.3f}", "", ""],
                  ["cold wall / audio", f"{r['wall_per_audio']:.3f}", f"≤ {target}",
                   _verdict(r["wall_per_audio"] <= target)],
                  ["cold CPU time, process tree", f"{c['cpu_s']:.1f} s", "", ""],
                  ["cold CPU / audio (/ 2 cores)", f"{r['cpu_per_audio']:.3f} ({r['cpu_per_audio'] / 2:.3f})",
                   "", ""],
                  ["peak RSS, process tree", f"{c['peak_tree_rss_mb']} MB", "", ""],
                  ["ru_maxrss, render process", f"{c['max_rss_mb']} MB", "", ""],
                  ["warm wall time (CPU)", f"{w['wall_s']:.1f} s ({w['cpu_s']:.1f} s)", "", ""],
                  ["warm: segments synthesized", str(w["synthesized"]), "0", _verdict(w["synthesized"] == 0)],
                  ["warm / cold", f"{r['warm_fraction']:.1%}", f"< {TARGET_WARM_FRACTION:.0%}",
                   _verdict(r["warm_fraction"] < TARGET_WARM_FRACTION)],
              ])
    if "kokoro" in results and "kokoro-shipped" in results:
        new, old = results["kokoro"]["cold"], results["kokoro-shipped"]["cold"]
        table("kokoro: the rewritten graph against the graph as shipped, cold renders of this run",
              ["measure", "rewritten / shipped"], [
                  ["wall time", f"{new['wall_s'] / old['wall_s']:.3f}"],
                  ["CPU time, process tree", f"{new['cpu_s'] / old['cpu_s']:.3f}"],
                  ["peak RSS, process tree", f"{new['peak_tree_rss_mb'] / old['peak_tree_rss_mb']:.3f}"],
              ])
    if "edit" in results:
        r = results["edit"]
        table(f"edit — one sentence changed (target ≤ {TARGET_EDIT_FRACTION:.0%} of cold, shrinking with size: "
              f"{'yes' if r['fraction_shrinks'] else 'no'})",
              ["scale", "sentences", "audio", "cold wall (CPU)", "edit wall (CPU)", "edit/cold wall (CPU)",
               "synth.", "rebuilt", ""],
              [[f"{s['scale']}x", f"{s['sentences']} ({s['distinct']} distinct)", f"{s['audio_s'] / 60:.1f} min",
                f"{s['cold_wall_s']:.0f} s ({s['cold_cpu_s']:.0f} s)",
                f"{s['edit_wall_s']:.1f} s ({s['edit_cpu_s']:.1f} s)",
                f"{s['edit_fraction']:.1%} ({s['edit_cpu_fraction']:.1%})",
                str(s["synthesized"]), _rebuilt(s['chapters_rebuilt'], s['chapters'])
                + (" + episode" if s["episode_rebuilt"] else ""),
                _verdict(s["edit_fraction"] <= TARGET_EDIT_FRACTION)] for s in r["scales"]])
    if "edge" in results:
        r = results["edge"]
        serial = r["serial"]
        rows = [["1x", "1", f"{serial['wall_s']:.1f} s", f"{serial['ms_per_sentence']:.0f}", str(serial["requests"]),
                 "", ""]]
        rows += [[f"{x['copies']}x", str(x["concurrency"]), f"{x['wall_s']:.1f} s", f"{x['ms_per_sentence']:.0f}",
                  str(x["requests"]), f"{x['wall_vs_1x']:.2f}", ""] for x in r["at_cap"]]
        rows.append([f"speed-up 1 → {r['default_concurrency']}", "", f"{r['speedup']:.1f}x", "", "",
                     f"≥ {TARGET_EDGE_SPEEDUP:.0f}x", _verdict(r["speedup"] >= TARGET_EDGE_SPEEDUP)])
        table(f"edge — fake service, {r['latency_s'] * 1000:.0f} ms per request, {r['serial']['sentences']} "
              f"sentences per copy ({r['speech']} speech)",
              ["copies", "concurrency", "wall", "ms/sentence", "requests", "wall vs 1x", ""], rows)


# ---------------------------------------------------------------------------------- main


def scale_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not like 1,4,16") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give positive whole numbers, e.g. 1,4,16")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("modes", nargs="*", metavar="MODE", help=f"{', '.join(MODES)} (default: local)")
    parser.add_argument("--article", type=Path, help="article to measure (default: the real sample)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    parser.add_argument("--scales", type=scale_list, default=[1, 4], help="edit: copies of the body (default 1,4)")
    parser.add_argument("--music", action="store_true", help="edit: renders with an intro and an outro")
    parser.add_argument("--edge-scales", type=scale_list, default=[1, 4, 16],
                        help="edge: copies of the sentences at the default cap (default 1,4,16)")
    parser.add_argument("--latency", type=float, default=0.3, help="edge: fake's seconds before the first byte")
    parser.add_argument("--speech", choices=("local", "tone"), default="local",
                        help="edge: what the fake speaks with (tone: no model, cheaper)")
    args = parser.parse_args(argv)
    args.modes = args.modes or ["local"]
    unknown = [m for m in args.modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode {unknown[0]!r}; choose from {', '.join(MODES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Library warnings (the sample's garble repairs, …) are the CLI's to show, not the bench's.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    article = args.article or SAMPLE
    if not article.exists():
        if args.article:
            log(f"error: {article}: no such file")
            return 2
        log(f"the sample {SAMPLE} is not here (a fresh clone without ../shared): nothing to measure. "
            "Give an article with --article PATH.")
        return 0
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "local": lambda: bench_local(article),
        "kokoro": lambda: bench_local(article, "kokoro", TARGET_KOKORO_WALL_PER_AUDIO),
        "kokoro-shipped": lambda: bench_local(article, "kokoro", TARGET_KOKORO_WALL_PER_AUDIO,
                                              {"AUDIOBOOK_KOKORO_GRAPH": "shipped"}, "kokoro-shipped"),
        "edit": lambda: bench_edit(article, args.scales, args.music),
        "edge": lambda: bench_edge(article, args.edge_scales, args.latency, args.speech),
    }
    results: dict[str, Any] = {"load_average": list(os.getloadavg()), "cpus": os.cpu_count()}
    for mode in dict.fromkeys(args.modes):
        results[mode] = runners[mode]()
        if not args.json:
            print_tables({mode: results[mode]})
    results["load_average_after"] = list(os.getloadavg())
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        before, after = results["load_average"], results["load_average_after"]
        print(f"load average (1 min) {before[0]:.2f} before, {after[0]:.2f} after; {results['cpus']} CPUs")
    return 0


if __name__ == "__main__":  # the local engine's forkserver pool re-imports __main__
    sys.exit(main())
