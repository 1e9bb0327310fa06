"""Command-line interface. Commands are thin: they parse options, call the pipeline, print.
The one error boundary is inside the app (`_Commands.invoke`): AudiobookError → one line on stderr,
exit 1, so `typer.testing.CliRunner` sees exactly what a user sees."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from .. import __version__
from ..config import Config, load_config, load_profile
from ..errors import AudiobookError
from .report import RenderProgress, print_plan, print_render

if TYPE_CHECKING:
    from ..render.pipeline import RenderResult

# User text (titles, paths, error messages) is printed literally: no markup, emoji codes or highlighting.
console = Console(markup=False, emoji=False, highlight=False, soft_wrap=True)  # a path is never cut
err_console = Console(stderr=True, markup=False, emoji=False, highlight=False, soft_wrap=True)


def error_line(message: str) -> Text:
    return Text.assemble(("error:", "bold red"), " ", message)


class _Commands(typer.core.TyperGroup):
    """The app's commands, with the one error boundary around whichever runs: an AudiobookError
    becomes one line on stderr and exit code 1 (its traceback too with --verbose). Usage errors
    (unknown option, missing argument) are typer's own, printed with the usage; Ctrl-C is typer's
    too (exit 130, quietly: finished work is in the cache)."""

    def invoke(self, ctx: Any) -> Any:  # ctx: click's Context (typer's own click, not a public name)
        try:
            return super().invoke(ctx)
        except AudiobookError as exc:
            if _state["verbose"]:
                err_console.print_exception()
            err_console.print(error_line(str(exc)), soft_wrap=True)
            raise typer.Exit(1) from exc


app = typer.Typer(
    name="audiobook",
    help="Turn a written article into a Mandarin audio edition: MP3 chapters and a podcast feed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_Commands,
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="audiobook.toml (default: ./audiobook.toml)")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs and tracebacks.")]
EngineOpt = Annotated[str | None, typer.Option(help="Speech engine: auto | local | kokoro | edge.")]
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
    article: Annotated[str, typer.Argument(help="Article: a file (.txt, .md, .html, .epub) or a web page's URL.")],
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
    """Narrate ARTICLE (a file or a web page) into MP3 chapters (or, with --dry-run, show what will be read)."""
    from ..render.pipeline import plan_article
    from ..render.pipeline import render as render_article
    from ..sources import parse_ref
    from ..tts.choice import choose_engine

    cfg = _setup(verbose, config)
    ref = parse_ref(article)
    profile = load_profile(voice or cfg.render.voice)
    requested = engine or cfg.render.engine
    if dry_run:
        script = plan_article(ref, cfg, profile, choose_engine(requested, cfg).name)
        if as_json:
            print(json.dumps(script.to_json(), ensure_ascii=False, indent=2))
        else:
            print_plan(console, script)
        return
    with RenderProgress(err_console) as progress:
        result = render_article(ref, cfg, profile, requested, output, progress.advance, progress.stage,
                                music=not no_music)
    print_render(console, result)


@app.command()
def follow(
    feeds: Annotated[list[str] | None, typer.Argument(help="RSS/Atom feed URLs (default: [follow] feeds).")] = None,
    limit: Annotated[int | None, typer.Option(help="Render the newest N entries (default: [follow] limit).",
                                              min=1)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be rendered.")] = False,
    engine: EngineOpt = None,
    voice: VoiceOpt = None,
    output: OutputOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Render a site's feed into the show: its newest entries, and afterwards only new or changed ones."""
    from ..render.follow import follow_feeds
    from .report import print_follow_outcome, print_follow_report

    cfg = _setup(verbose, config)
    urls = _feed_urls(feeds, cfg)
    profile = load_profile(voice or cfg.render.voice)
    reports = follow_feeds(urls, cfg, profile, engine or cfg.render.engine, output, limit, dry_run,
                           lambda outcome: print_follow_outcome(console, outcome))
    for report in reports:
        print_follow_report(console, err_console, report)
    failed = [r for r in reports if r.failed]
    if failed:
        raise AudiobookError(f"{len(failed)} of {len(reports)} feeds had errors (above); what could be rendered "
                             "was; run again to retry the rest")


def _feed_urls(feeds: list[str] | None, cfg: Config) -> list[str]:
    urls = list(feeds or cfg.follow.feeds)
    if not urls:
        raise AudiobookError("no feed to follow; give its URL (audiobook follow https://example.com/feed.xml) or "
                             "list it in audiobook.toml under [follow] feeds")
    for url in urls:
        if not url.lower().startswith(("http://", "https://")):
            raise AudiobookError(f"{url}: a feed is followed by its http(s) URL; give the address of the site's "
                                 "RSS or Atom feed")
    return urls


@app.command()
def feed(config: ConfigOpt = None, output: OutputOpt = None, base_url: SiteUrlOpt = None,
         verbose: VerboseOpt = False) -> None:
    """(Re)write the feed and the show's pages from what is in the output folder; synthesizes nothing."""
    from ..publish.website import build_site
    from ..store.workspace import open_workspace

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
    from ..publish.deploy import publish_site
    from ..store.workspace import open_workspace
    from .report import print_publish, publish_progress

    cfg = _setup(verbose, config)
    with publish_progress(err_console) as progress:
        report = publish_site(open_workspace(output or Path(cfg.render.output)), cfg, dest, progress)
    print_publish(console, report)


@app.command()
def retire(
    episode: Annotated[str, typer.Argument(help="The episode: its article file or URL, folder, title, id or guid.")],
    output: OutputOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Take an episode out of the show (feed, pages, its files); rendering its article again brings it back."""
    from ..errors import PublishError
    from ..publish.website import build_site
    from ..store.episodes import retire_episode
    from ..store.workspace import open_workspace

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
    from .init_template import write_config_template

    console.print(f"wrote {write_config_template(path)}; edit [show] before publishing", highlight=False,
                  markup=False)


@app.command()
def voices(
    locale: Annotated[str, typer.Option(help="Locale prefix for edge voices, e.g. zh, zh-TW ('' for all).")] = "zh",
    engine: Annotated[str, typer.Option(help="Whose voices: edge (asks the service), kokoro or local.")] = "edge",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (edge: the service's own).")] = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List an engine's voices (edge: from the service; kokoro and local: the ones installed)."""
    from ..tts.registry import engine as engine_info
    from .report import print_offline_voices, print_voices

    cfg = _setup(verbose, config)
    info = engine_info(engine)
    if info.voices:
        if as_json:
            print(json.dumps([{"name": v, "engine": info.name} for v in info.voices], ensure_ascii=False, indent=2))
        else:
            print_offline_voices(console, info)
        return
    from ..tts.voices import list_voices

    found = list_voices(locale, cfg.edge)
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        print_voices(console, found)


@app.command()
def preview(
    text: Annotated[str, typer.Argument(help="A sentence to say.")],
    voice: Annotated[str | None, typer.Option(help="A voice of the engine, e.g. zh-CN-YunxiNeural or zm_yunxi "
                                                   "(default: the profile's).")] = None,
    engine: Annotated[str, typer.Option(help="auto | local | kokoro | edge")] = "auto",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.mp3 or .wav).")] = Path("preview.mp3"),
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Render a short sample to a file and print its path."""
    from ..render.pipeline import preview as render_preview

    cfg = _setup(verbose, config)
    profile = load_profile(cfg.render.voice)
    path, choice = render_preview(text, cfg, profile, engine, voice, out)
    console.print(f"{path} ({choice.name} engine)", highlight=False)


@app.command()
def watch(
    articles: Annotated[list[Path] | None, typer.Argument(help="Article files (.txt, .md, .html, .epub).")] = None,
    follow_feeds: Annotated[bool, typer.Option("--follow", help="Also follow the feeds in [follow] feeds.")] = False,
    feed_urls: Annotated[list[str] | None, typer.Option("--feed", help="Also follow this feed (repeatable).")] = None,
    poll_minutes: Annotated[float | None, typer.Option(help="Read the feeds every N minutes (default: [follow] "
                                                       "poll_minutes).", min=1.0)] = None,
    engine: EngineOpt = None,
    voice: VoiceOpt = None,
    output: OutputOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Render ARTICLEs, then render again whenever one (or the config/voice/lexicon/music) is saved;
    with --follow/--feed, also follow feeds, reading them again every few minutes."""
    from ..render.changes import format_changes
    from ..render.music import configured_music
    from ..render.pipeline import render as render_article
    from .watch import Rendered, settings_files, watch_articles

    cfg = _setup(verbose, config)
    voice_name = voice or cfg.render.voice
    feeds = list(feed_urls or []) + (_feed_urls(None, cfg) if follow_feeds else [])
    if not articles and not feeds:
        raise AudiobookError("nothing to watch; give article files, or --follow / --feed URL to follow feeds")
    for article in articles or []:
        if str(article).startswith(("http:/", "https:/")):  # typer made the URL a Path: http:/host/…
            raise AudiobookError(f"{article}: watch re-renders files on save; to keep a web page's episode up to "
                                 "date, follow its site's feed (--feed URL) or run `audiobook render URL` again")

    def render_one(article: Path) -> RenderResult:  # settings are re-read each time: they may have been edited
        current = load_config(config)
        requested = engine or current.render.engine
        if requested != "auto":
            from ..tts.registry import engine as engine_info

            engine_info(requested)  # an unknown engine is an error naming the known ones
        return render_article(article, current, load_profile(voice or current.render.voice), requested, output)

    def show(event: Rendered) -> None:
        name = event.article.name
        if event.error is not None:
            err_console.print(error_line(f"{name}: {event.error}"), soft_wrap=True)
        elif event.result is not None and event.result.changes:
            console.print(f"{name} ({event.reason}): {format_changes(event.result.changes, event.elapsed_s)}",
                          highlight=False, soft_wrap=True)

    def poll() -> None:
        from ..render.follow import EntryOutcome
        from ..render.follow import follow_feeds as follow_now
        from .report import print_follow_outcome

        def print_news(outcome: EntryOutcome) -> None:
            if outcome.status != "unchanged":
                print_follow_outcome(console, outcome)

        try:
            current = load_config(config)
            reports = follow_now(feeds, current, load_profile(voice or current.render.voice),
                                 engine or current.render.engine, output,
                                 on_outcome=print_news)
        except AudiobookError as exc:
            err_console.print(error_line(str(exc)), soft_wrap=True)
            return
        for report in reports:
            if report.error:
                err_console.print(error_line(report.error), soft_wrap=True)

    def ready(paths: list[Path]) -> None:
        what = f"{len(paths)} files" + (f" and {len(feeds)} feeds" if feeds else "") if paths else f"{len(feeds)} feeds"
        console.print(f"watching {what}; Ctrl-C to stop", highlight=False)

    every_s = 60 * (poll_minutes or cfg.follow.poll_minutes)
    settings = settings_files(cfg.path, voice_name) + configured_music(cfg)  # the [music] files too
    try:
        watch_articles(articles or [], render_one, show, settings=settings, on_ready=ready,
                       poll=poll if feeds else None, poll_every_s=every_s)
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
    from ..store.prune import info_lines

    cfg = _setup(verbose, config)
    for line in info_lines(output or Path(cfg.render.output)):
        console.print(line, highlight=False, soft_wrap=True)


@cache_app.command("prune")
def cache_prune(output: Annotated[list[Path] | None, typer.Option("--output", "-o", help="Output folder(s) whose "
                                                                   "manifests are kept (default: config).")] = None,
                dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be freed.")] = False,
                grace_minutes: GraceOpt = 15, config: ConfigOpt = None, verbose: VerboseOpt = False) -> None:
    """Remove cached segments and chapter audio that no render.json under the output folder(s) uses."""
    from ..store.prune import describe_prune, prune_cache

    cfg = _setup(verbose, config)
    result = prune_cache(output or [Path(cfg.render.output)], grace_minutes * 60, dry_run=dry_run)
    console.print(describe_prune(result), highlight=False, soft_wrap=True)


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    """The app; Ctrl-C before a command runs (while Python loads it) also exits quietly."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted; finished work is kept in the cache")
        sys.exit(130)


_exit_code = [0]


def run() -> None:
    """The console script and `python -m audiobook`: main(), then exit without tearing the
    interpreter down. Teardown frees the language dictionaries, the voice model and everything
    else one object at a time: ~0.25 s measured after a render, a tenth of a one-sentence edit.
    So the last exit handler ends the process: registered before the command runs, it runs after
    every handler the command's libraries register (worker processes and threads joined), flushes
    the logs and the output streams, and every file this tool writes is complete (atomic) before
    main() returns; the OS then takes the memory back at once."""
    atexit.register(_exit_now)  # handlers run last-registered first: this one after the render's
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    _exit_code[0] = code
    sys.exit(code)


def _exit_now() -> None:
    logging.shutdown()  # registered by logging itself before this handler, so it would run after it
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`)
            stream.flush()
    os._exit(_exit_code[0])
