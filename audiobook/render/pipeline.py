"""The whole flow on one screen: ingest → plan → synthesize ‖ assemble/publish → feed."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config, VoiceProfile
from ..errors import SegmentsLost
from ..models import Document, Script
from ..publish import EpisodeTags
from ..publish.generated import generated_cover
from ..publish.pages import PAGE_FILE
from ..publish.wording import synthetic_voice_note
from ..sources import fallback_name, load_document, source_key
from ..store.episodes import claim_episode
from ..store.files import Staging, remove_stale_temps
from ..store.manifest import (
    ChangeSummary,
    Manifest,
    ManifestError,
    NotAManifest,
    SynthStats,
    dump_manifest,
    load_manifest,
)
from ..store.segments import SegmentCache
from ..store.workspace import Workspace, open_workspace
from ..text.normalize import Normalizer, load_lexicon
from ..tts.choice import (
    ENGINES,
    EngineChoice,
    choose_engine,
    describe_voices,
    engine_version,
    open_engine,
    quote_voice_for,
    voice_for,
)
from .changes import summarize_changes
from .plan import make_script
from .synthesize import ChapterGate, Progress, assign_keys, synthesize_script

if TYPE_CHECKING:  # the audio stack loads only when audio is made: a dry run stays quick
    from .build import BuildResult

log = logging.getLogger(__name__)



@dataclass
class RenderResult:
    folder: Path  # the episode's public folder (site/<slug>)
    manifest: Path  # its render.json, in the private state
    guid: str
    script: Script
    engine: EngineChoice
    synth: SynthStats
    produced: BuildResult
    feed: Path | None
    timings_s: dict[str, float] = field(default_factory=dict)
    changes: ChangeSummary | None = None


def make_plan(document: Document, profile: VoiceProfile, engine: str) -> Script:
    normalizer = Normalizer(load_lexicon(), _text_engine(engine))

    def spoken(text: str) -> tuple[str, list[str]]:
        result = normalizer.spoken(text)
        return result.text, result.lexicon_hits

    split_quotes = quote_voice_for(engine, profile) is not None  # quotations get units of their own
    return make_script(document, profile.pauses, spoken, engine, split_quotes=split_quotes)


def _text_engine(name: str) -> str:
    """Whose spoken forms an engine's sentences get (an unknown name is the Normalizer's error)."""
    return ENGINES[name].text_engine if name in ENGINES else name


def plan_article(path: Path | str, config: Config, profile: VoiceProfile, engine: str) -> Script:
    """Read an article (a file or a URL) and produce the script for `engine` ("local" or "edge")."""
    return make_plan(load_document(path, config), profile, engine)


def render(path: Path | str, config: Config, profile: VoiceProfile, engine_request: str,
           output_root: Path | None = None, progress: Progress | None = None,
           on_stage: Callable[[str], None] | None = None, music: bool = True) -> RenderResult:
    """Render an article file or a web page (URL) into its episode; music=False leaves the intro,
    outro and transitions out."""
    started = time.perf_counter()
    document = load_document(path, config)
    return render_document(document, config, profile, engine_request, output_root, progress, on_stage,
                           read_s=time.perf_counter() - started, music=music)


def render_document(document: Document, config: Config, profile: VoiceProfile, engine_request: str,
                    output_root: Path | None = None, progress: Progress | None = None,
                    on_stage: Callable[[str], None] | None = None, update_site: bool = True,
                    read_s: float = 0.0, choice: EngineChoice | None = None, music: bool = True) -> RenderResult:
    """Render a document that was read already (`follow` reads a feed's entries itself; `read_s` is
    what reading it took); with `update_site=False` the feed and pages are left for the caller to
    rebuild once; `choice` is an engine chosen already for a run of several renders; music=False
    leaves the intro, outro and transitions out."""
    from .build import BuildContext, build_outputs, remove_stale
    from .chapter_audio import AudioSettings
    from .music import plan_music, resolve_music

    timings: dict[str, float] = {}
    clock = time.perf_counter() - read_s  # reading the article counts in "plan", as it always has

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    choice = choice or choose_engine(engine_request, config)
    script = make_plan(document, profile, choice.name)
    cover, cover_mime = resolve_cover(document, config)  # a bad cover fails before any work
    cover_file = "cover.png" if cover_mime == "image/png" else "cover.jpg"
    # a missing music file fails before any work (front-matter paths are relative to the article file)
    music_files = resolve_music(document.music, config, Path(document.source), music)
    if music_files and config.feed.items == "chapters":
        log.warning("music plays in the full episode; with [feed] items = \"chapters\" the feed lists the "
                    "chapter files, which are narration only")
    lap("plan")

    ws = open_workspace(output_root or Path(config.render.output))
    with claim_episode(ws, source_key(document), document.episode_id, document.title,
                       fallback_name(document.source)) as episode:
        slug, folder, manifest = episode.slug, ws.folder(episode.slug), ws.manifest_path(episode.guid)
        previous = read_previous(manifest)
        _remove_leftovers(folder, ws.episode_state(episode.guid))
        voice, quote_voice = voice_for(choice.name, profile), quote_voice_for(choice.name, profile)
        assign_keys(script, choice.name, engine_version(choice.name), voice, quote_voice)
        cache = SegmentCache()
        voices = describe_voices(voice, quote_voice)
        tags = EpisodeTags(album=script.title, artist=script.author or config.show.author, date=script.date,
                           language=script.language, cover=cover, cover_mime=cover_mime,
                           comment=synthetic_voice_note(script.language))
        settings = AudioSettings(config.render.loudness_lufs, config.render.true_peak_dbtp, config.render.bitrate_kbps)
        # checked (decoded, trimmed, measured) before any synthesis, unless the last episode holds its frames
        episode_music = plan_music(music_files, config.music, settings, previous.episode if previous else None,
                                   script.language, len(script.chapters))
        stage = Staging()  # every output of this render is put in place at once, after it is all made
        build = BuildContext(script, cache, folder, slug, tags, settings, previous, stage, episode_music, on_stage)
        needed = [s.key for chapter in script.chapters for s in chapter.sentences]
        try:
            with cache.hold(needed):  # `cache prune` from any output folder keeps these meanwhile
                cache.touch(needed)  # and counts its grace period from now
                synth, produced = _with_repair(lambda: _side_by_side(
                    lambda gate: synthesize_script(script, lambda: open_engine(choice.name, config), voice, cache,
                                                   progress, quote_voice, gate),
                    lambda ready: build_outputs(build, ready),
                    lap), stage)
            if not (folder / cover_file).exists() or (folder / cover_file).read_bytes() != cover:
                stage.write_bytes(folder / cover_file, cover)
            stage.commit()
        finally:
            stage.discard()  # what a failure or Ctrl-C left staged
        remove_stale(folder, previous, produced)

        music_encoded = list(dict.fromkeys(m.role for m in produced.episode.music if m.encoded))
        changes = summarize_changes(previous, script, synth.synthesized, synth.cached, produced.chapters,
                                    produced.episode.rebuilt, sum(timings.values()), music_encoded)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        dump_manifest(Manifest(
            slug=slug, guid=episode.guid, title=script.title, author=script.author, date=script.date,
            language=script.language, description=describe(document, script), source=script.source,
            first_rendered=(previous.first_rendered if previous else "") or now, rendered_at=now,
            engine=choice.name, engine_reason=choice.reason, voice=voices, cover=cover_file,
            episode=produced.episode, chapters=produced.chapters, segments=synth, timings_s=timings,
            changes=changes), manifest)
    feed = rebuild_site(ws, config) if update_site else None
    lap("feed")
    return RenderResult(folder, manifest, episode.guid, script, choice, synth, produced, feed, timings, changes)


def _remove_leftovers(folder: Path, state: Path) -> None:
    """Temp files of a render that was killed (kill -9, a power cut): its staged outputs in the
    episode's folder and its unfinished manifest. Pages are written there by any render's site
    build, so their temp files go only once they are clearly abandoned."""
    removed = remove_stale_temps(folder, keep=(PAGE_FILE,)) + remove_stale_temps(folder, older_than_s=600)
    removed += remove_stale_temps(state)
    if removed:
        log.info("removed %d temp files an interrupted render left in %s", removed, folder)


def _with_repair(make: Callable[[], tuple[SynthStats, BuildResult]],
                 stage: Staging) -> tuple[SynthStats, BuildResult]:
    """Synthesize and assemble; if cached segments turn out corrupt or gone while assembling (a
    damaged disk, a prune from another output folder), synthesize just those again and assemble
    once more, in this same run."""
    try:
        return make()
    except SegmentsLost as exc:
        log.warning("%s; synthesizing them again", exc)
        stage.discard()
        first_synthesized = exc.synthesized
    synth, produced = make()
    return replace(synth, synthesized=synth.synthesized + first_synthesized), produced


def _side_by_side(synthesize: Callable[[ChapterGate], SynthStats],
                  assemble: Callable[[Callable[[int], None]], BuildResult],
                  lap: Callable[[str], None], gate: ChapterGate | None = None) -> tuple[SynthStats, BuildResult]:
    """Synthesis (in the engine's worker processes) and assembly (numpy and ffmpeg, on threads)
    side by side: a chapter is assembled as soon as its segments are cached, while later chapters
    synthesize, so assembly fills the cores synthesis leaves idle instead of starting after it.
    If synthesis stops (an error, Ctrl-C), assembly stops at its next chapter and synthesis's
    exception is raised; a chapter in flight completes (its files appear atomically)."""
    gate = gate or ChapterGate()
    with ThreadPoolExecutor(1, thread_name_prefix="assemble") as side:
        producing = side.submit(assemble, gate.wait)
        try:
            synth = synthesize(gate)
        except BaseException:
            gate.stop()
            with contextlib.suppress(Exception):  # SynthesisStopped, or an assembly error second to this one
                producing.result()
            raise
        lap("synthesize")
        try:
            produced = producing.result()
        except SegmentsLost as exc:
            exc.synthesized = synth.synthesized  # counted in the run's total when it repairs them
            raise
        except BaseException:  # Ctrl-C while assembling: stop before the next chapter
            gate.stop()
            raise
    lap("assemble_publish")
    return synth, produced


def read_previous(path: Path) -> Manifest | None:
    """The last render's manifest, if there is a usable one (else everything is built anew)."""
    try:
        return load_manifest(path)
    except (FileNotFoundError, NotAManifest):
        return None
    except ManifestError as exc:
        log.warning("ignoring unreadable %s (%s); rebuilding everything", path, exc)
        return None


def resolve_cover(document: Document, config: Config) -> tuple[bytes, str]:
    """Cover (bytes, mime) from front matter (relative to the article), a web page's lead image or an
    EPUB's cover (kept in the cache), else [show] cover, else generated."""
    if document.cover:
        from ..publish.cover import load_cover  # Pillow: only when there is a cover to check

        candidate = Path(document.cover)
        return load_cover(candidate if candidate.is_absolute() else Path(document.source).parent / candidate)
    if config.show.cover and "://" not in config.show.cover:
        from ..publish.cover import load_cover

        base = config.path.parent if config.path else Path.cwd()
        return load_cover(base / config.show.cover)
    return generated_cover(document.title, document.author, language=document.language), "image/jpeg"


def describe(document: Document, script: Script, limit: int = 200) -> str:
    if document.description:
        return document.description
    text = ""
    for sentence in (s for c in script.chapters for s in c.sentences if s.kind == "sentence"):
        if len(text) + len(sentence.text) > limit and text:
            break
        text += sentence.text
    return text


def rebuild_site(ws: Workspace, config: Config) -> Path | None:
    from ..errors import AudiobookError
    from ..publish.website import build_site

    try:
        return build_site(ws, config)
    except AudiobookError as exc:
        log.warning("feed and pages not updated: %s", exc)
        return None


def preview(text: str, config: Config, profile: VoiceProfile, engine_request: str, voice_name: str | None,
            out: Path) -> tuple[Path, EngineChoice]:
    """Say one short text with the chosen engine (spoken form applied) into `out` (.mp3 or .wav)."""
    from dataclasses import replace

    from ..audio.sample import write_sample
    from ..errors import InputError
    from ..models import Synthesis, SynthRequest
    from ..text.ingest import has_speakable

    if engine_request == "auto" and voice_name is None:
        engine_request = config.render.engine
    choice = choose_engine(engine_request, config)
    if voice_name:
        info = ENGINES[choice.name]
        if info.voices and voice_name not in info.voices:
            raise InputError(f"{voice_name!r} is not a voice of the {info.name} engine; known: "
                             f"{', '.join(info.voices)}")
        named: dict[str, Any] = {info.voice_key: voice_name}
        profile = replace(profile, **named)
    spoken = Normalizer(load_lexicon(), _text_engine(choice.name)).spoken(text).text
    if not has_speakable(spoken):
        raise InputError(f"nothing speakable in {text!r}; give a sentence to preview")
    voice = voice_for(choice.name, profile)
    results: list[Synthesis] = []
    with open_engine(choice.name, config) as engine:
        engine.synthesize([SynthRequest("preview", spoken, voice)], lambda _r, s: results.append(s))
    write_sample(out, results[0].samples, results[0].sample_rate)
    return out, choice
