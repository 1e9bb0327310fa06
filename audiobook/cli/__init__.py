"""The command line: the Typer app (app.py) and what only the CLI does: printing (report.py), the
config template (init_template.py), serving the site (serve.py), watching files (watch.py)."""

from .app import app, main, run

__all__ = ["app", "main", "run"]
