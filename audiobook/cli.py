"""Command-line interface. Commands are thin: they parse options, call the pipeline, print.
The one error boundary is `main()`: AudiobookError → one line on stderr, exit 1."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from . import __version__
from .config import Config, load_config, load_profile
from .errors import AudiobookError
from .report import RenderProgress, print_plan, print_render

app = typer.Typer(
    name="audiobook",
    help="Turn a written article into a Mandarin audio edition: MP3 chapters and a podcast feed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# User text (titles, paths, error messages) is printed literally: no markup, emoji codes or highlighting.
console = Console(markup=False, emoji=False, highlight=False)
err_console = Console(stderr=True, markup=False, emoji=False, highlight=False)


def error_line(message: str) -> Text:
    return Text.assemble(("error:", "bold red"), " ", message)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="audiobook.toml (default: ./audiobook.toml)")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs and tracebacks.")]
EngineOpt = Annotated[str | None, typer.Option(help="Speech engine: auto | local | edge.")]
VoiceOpt = Annotated[str | None, typer.Option(help="Voice profile name under voices/ (default: default).")]
SiteUrlOpt = Annotated[str | None, typer.Option(help="Public URL of the site (default: [show] base_url).")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Output folder (default: ./output).")]

_state = {"verbose": False}


def _setup(verbose: bool, config: Path | None) -> Config:
    _state["verbose"] = verbose
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(
        level=level,
        format="%(levelname)s %(name)s: %(message)s" if verbose else "warning: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().handlers[0].setLevel(level)
    import jieba  # it sets its own logger to DEBUG on import: quiet its dictionary-loading chatter

    jieba.setLogLevel(logging.WARNING)
    return load_config(config)


@app.command()
def render(
    article: Annotated[Path, typer.Argument(help="Article file (.txt or .md).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; make no audio.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --dry-run: print the plan as JSON.")] = False,
    no_music: Annotated[bool, typer.Option("--no-music", help="Leave out the intro, outro and transition "
                                           "music ([music] in audiobook.toml, the article's front matter).")] = False,
    engine: EngineOpt = None,
    voice: VoiceOpt = None,
    output: OutputOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Narrate ARTICLE into MP3 chapters (or, with --dry-run, show what will be read)."""
    from .pipeline import plan_article
    from .pipeline import render as render_article
    from .tts.select import choose_engine

    cfg = _setup(verbose, config)
    profile = load_profile(voice or cfg.render.voice)
    requested = engine or cfg.render.engine
    if dry_run:
        script = plan_article(article, cfg, profile, choose_engine(requested, cfg).name)
        if as_json:
            print(json.dumps(script.to_json(), ensure_ascii=False, indent=2))
        else:
            print_plan(console, script)
        return
    with RenderProgress(err_console) as progress:
        result = render_article(article, cfg, profile, requested, output, progress.advance, progress.stage,
                                music=not no_music)
    print_render(console, result)


@app.command()
def feed(config: ConfigOpt = None, output: OutputOpt = None, base_url: SiteUrlOpt = None,
         verbose: VerboseOpt = False) -> None:
    """(Re)write the feed and the show's pages from what is in the output folder; synthesizes nothing."""
    from .publish.site import build_site
    from .workspace import open_workspace

    cfg = _setup(verbose, config)
    if base_url:
        cfg.show.base_url = base_url
    path = build_site(open_workspace(output or Path(cfg.render.output)), cfg)
    console.print(f"feed written: {path}", highlight=False, markup=False)


@app.command()
def publish(
    dest: Annotated[Path, typer.Argument(help="Folder to publish into, e.g. the web server's /var/www/podcast.")],
    output: OutputOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Copy the show's site (audio, captions, pages, feed) into DEST: audio first, the feed last, then
    delete what an earlier publish put there and the show no longer has."""
    from .publish.deploy import publish_site
    from .report import print_publish, publish_progress
    from .workspace import open_workspace

    cfg = _setup(verbose, config)
    with publish_progress(err_console) as progress:
        report = publish_site(open_workspace(output or Path(cfg.render.output)), cfg, dest, progress)
    print_publish(console, report)


@app.command()
def retire(
    episode: Annotated[str, typer.Argument(help="The episode: its article file, folder name, title, id or guid.")],
    output: OutputOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Take an episode out of the show (feed, pages, its files); rendering its article again brings it back."""
    from .episodes import retire_episode
    from .errors import PublishError
    from .publish.site import build_site
    from .workspace import open_workspace

    cfg = _setup(verbose, config)
    ws = open_workspace(output or Path(cfg.render.output))
    identity = retire_episode(ws, episode)
    try:
        build_site(ws, cfg)
        left = "the feed and pages no longer list it"
    except PublishError:  # that was the last episode
        left = "the show has no episodes left"
    console.print(f"retired {identity.title or identity.slug}: {left}; `audiobook publish` takes it off your "
                  "host", highlight=False, markup=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for the LAN).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8000,
    base_url: Annotated[str | None, typer.Option(help="URL the feed points at (e.g. for a phone on the LAN).")] = None,
    output: OutputOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Serve the show's site over HTTP (pages, range requests, a feed made for this address) without
    writing anything, and print its URLs."""
    from .serve import serve as serve_folder

    cfg = _setup(verbose, config)
    serve_folder(output or Path(cfg.render.output), host, port, base_url, config=cfg,
                 announce=lambda text: console.print(text, highlight=False, markup=False, soft_wrap=True))


@app.command()
def init(path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path("audiobook.toml")) -> None:
    """Write a commented audiobook.toml describing the show (refuses to overwrite)."""
    from .init_config import write_config_template

    console.print(f"wrote {write_config_template(path)}; edit [show] before publishing", highlight=False,
                  markup=False)


@app.command()
def voices(
    locale: Annotated[str, typer.Option(help="Locale prefix, e.g. zh, zh-TW ('' for all).")] = "zh",
    as_json: Annotated[bool, typer.Option("--json", help="Print the service's JSON.")] = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List the edge-tts service's voices."""
    from .report import print_voices
    from .tts.voices import list_voices

    cfg = _setup(verbose, config)
    found = list_voices(locale, cfg.edge)
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        print_voices(console, found)


@app.command()
def preview(
    text: Annotated[str, typer.Argument(help="A sentence to say.")],
    voice: Annotated[str | None, typer.Option(help="Edge voice, e.g. zh-CN-YunxiNeural (default: profile's).")] = None,
    engine: Annotated[str, typer.Option(help="auto | local | edge")] = "auto",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.mp3 or .wav).")] = Path("preview.mp3"),
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Render a short sample to a file and print its path."""
    from .pipeline import preview as render_preview

    cfg = _setup(verbose, config)
    profile = load_profile(cfg.render.voice)
    path, choice = render_preview(text, cfg, profile, engine, voice, out)
    console.print(f"{path} ({choice.name} engine)", highlight=False)


@app.command()
def watch(
    articles: Annotated[list[Path], typer.Argument(help="Article files (.txt or .md).")],
    engine: EngineOpt = None,
    voice: VoiceOpt = None,
    output: OutputOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Render ARTICLEs, then render again whenever one (or the config/voice/lexicon/music) is saved."""
    from .changes import format_changes
    from .episodemusic import configured_music
    from .pipeline import render as render_article
    from .watch import Rendered, settings_files, watch_articles

    cfg = _setup(verbose, config)
    voice_name = voice or cfg.render.voice

    def render_one(article: Path):  # settings are re-read each time: they may have been edited
        current = load_config(config)
        requested = engine or current.render.engine
        if requested not in ("auto", "local", "edge"):
            raise AudiobookError(f"unknown engine {requested!r}; use auto, local or edge")
        return render_article(article, current, load_profile(voice or current.render.voice), requested, output)

    def show(event: Rendered) -> None:
        name = event.article.name
        if event.error is not None:
            err_console.print(error_line(f"{name}: {event.error}"), soft_wrap=True)
        elif event.result.changes:
            console.print(f"{name} ({event.reason}): {format_changes(event.result.changes, event.elapsed_s)}",
                          highlight=False, soft_wrap=True)

    def ready(paths: list[Path]) -> None:
        console.print(f"watching {len(paths)} files; Ctrl-C to stop", highlight=False)

    settings = settings_files(cfg.path, voice_name) + configured_music(cfg)  # the [music] files too
    try:
        watch_articles(articles, render_one, show, settings=settings, on_ready=ready)
    except KeyboardInterrupt:
        console.print("stopped watching", highlight=False)


cache_app = typer.Typer(help="Inspect or prune the segment and chapter-audio cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
GraceOpt = Annotated[int, typer.Option("--grace-minutes", help="Keep unreferenced entries written this recently "
                                       "(a render into another output folder may still need them).")]


@cache_app.command("info")
def cache_info(output: Annotated[Path | None, typer.Option("--output", "-o", help="Output folder whose "
                                                            "manifests count as references (default: config).")] = None,
               config: ConfigOpt = None, verbose: VerboseOpt = False) -> None:
    """Where the cache is, how big, and how much `cache prune` would free."""
    from .cachecmd import info_lines

    cfg = _setup(verbose, config)
    for line in info_lines(output or Path(cfg.render.output)):
        console.print(line, highlight=False, soft_wrap=True)


@cache_app.command("prune")
def cache_prune(output: Annotated[list[Path] | None, typer.Option("--output", "-o", help="Output folder(s) whose "
                                                                   "manifests are kept (default: config).")] = None,
                dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be freed.")] = False,
                grace_minutes: GraceOpt = 15, config: ConfigOpt = None, verbose: VerboseOpt = False) -> None:
    """Remove cached segments and chapter audio that no render.json under the output folder(s) uses."""
    from .cachecmd import describe_prune, prune_cache

    cfg = _setup(verbose, config)
    result = prune_cache(output or [Path(cfg.render.output)], grace_minutes * 60, dry_run=dry_run)
    console.print(describe_prune(result), highlight=False, soft_wrap=True)


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    """Console-script entry point: the one place that turns our errors into a one-line message.
    Usage errors (unknown option, missing argument) are typer's own, printed with the usage."""
    try:
        app()
    except AudiobookError as exc:
        if _state["verbose"]:
            err_console.print_exception()
        err_console.print(error_line(str(exc)), soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished work is kept in the cache")
        sys.exit(130)


def run() -> None:
    """The console script and `python -m audiobook`: main(), then exit without tearing the
    interpreter down. Teardown frees the language dictionaries, the voice model and everything
    else one object at a time: ~0.25 s measured after a render, a tenth of a one-sentence edit.
    Exit handlers still run first (logging flushed, worker processes and threads joined), and
    every file this tool writes is complete (atomic) before main() returns; the OS then takes
    the memory back at once."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`)
            stream.flush()
    os._exit(code)
