"""Command-line interface. Commands are thin: they parse options, call the pipeline, print.
The one error boundary is `main()`: AudiobookError → one line on stderr, exit 1."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

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
console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="audiobook.toml (default: ./audiobook.toml)")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs and tracebacks.")]

_state = {"verbose": False}


def _setup(verbose: bool, config: Path | None) -> Config:
    _state["verbose"] = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s" if verbose else "warning: %(message)s",
        stream=sys.stderr,
    )
    return load_config(config)


@app.command()
def render(
    article: Annotated[Path, typer.Argument(help="Article file (.txt or .md).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; make no audio.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --dry-run: print the plan as JSON.")] = False,
    engine: Annotated[str | None, typer.Option(help="Speech engine: auto | local | edge.")] = None,
    voice: Annotated[str | None, typer.Option(help="Voice profile name under voices/ (default: default).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output folder (default: ./output).")] = None,
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
    if requested not in ("auto", "local", "edge"):
        raise AudiobookError(f"unknown engine {requested!r}; use auto, local or edge")
    if dry_run:
        script = plan_article(article, cfg, profile, choose_engine(requested, cfg).name)
        if as_json:
            print(json.dumps(script.to_json(), ensure_ascii=False, indent=2))
        else:
            print_plan(console, script)
        return
    with RenderProgress(err_console) as progress:
        result = render_article(article, cfg, profile, requested, output, progress.advance, progress.stage)
    print_render(console, result)


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    """Console-script entry point: the one place that turns errors into messages."""
    try:
        app(standalone_mode=False)
    except AudiobookError as exc:
        if _state["verbose"]:
            err_console.print_exception()
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished work is kept in the cache")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
