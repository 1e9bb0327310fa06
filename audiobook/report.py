"""Human-readable output for the CLI (rich). Library code logs; only the CLI prints."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from .models import Script
from .plan import chapter_estimate_ms

FIRST_SPOKEN = 3  # spoken forms shown per chapter


def fmt_ms(ms: float) -> str:
    s = int(round(ms / 1000))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def print_plan(console: Console, script: Script) -> None:
    console.print(f"[bold]{script.title}[/]", highlight=False)
    console.print(f"author: {script.author or '—'}   language: {script.language}   "
                  f"engine: {script.engine}   source: {script.source}", highlight=False)
    table = Table(title="chapters", show_lines=False)
    for col, justify in (("#", "right"), ("title", "left"), ("sentences", "right"), ("est. duration", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    total = 0
    for ch in script.chapters:
        est = chapter_estimate_ms(ch)
        total += est
        table.add_row(str(ch.index), ch.title, str(len(ch.sentences)), fmt_ms(est))
    table.add_row("", "[bold]total[/]", str(sum(len(c.sentences) for c in script.chapters)), fmt_ms(total))
    console.print(table)

    for ch in script.chapters:
        console.print(f"\n[bold]{ch.index}. {ch.title}[/]", highlight=False)
        for s in ch.sentences[:FIRST_SPOKEN]:
            console.print(f"  [dim]{s.kind:<10}[/] {s.text}", highlight=False)
            if s.spoken != s.text:
                console.print(f"  [dim]{'  spoken':<10}[/] [green]{s.spoken}[/]", highlight=False)
        if len(ch.sentences) > FIRST_SPOKEN:
            console.print(f"  [dim]… {len(ch.sentences) - FIRST_SPOKEN} more[/]")

    if script.dropped:
        console.print(f"\n[bold]not narrated[/] ({len(script.dropped)} lines)")
        for d in script.dropped:
            console.print(f"  line {d.line:>3} [dim]{d.rule:<18}[/] {d.text[:70]}", highlight=False)
    if script.garbled:
        console.print(f"\n[bold yellow]garbled text[/] ({len(script.garbled)} spans)")
        for g in script.garbled:
            fix = f"→ {g.replacement}" if g.action == "repaired" else "clause dropped"
            console.print(f"  {g.line}:{g.col} {g.original!r} [yellow]{g.action}[/] {fix}", highlight=False)
    hits = Counter(h for ch in script.chapters for s in ch.sentences for h in s.lexicon_hits)
    if hits:
        console.print(f"\n[bold]lexicon[/] ({sum(hits.values())} hits)")
        console.print("  " + ", ".join(f"{k}×{v}" for k, v in hits.most_common()), highlight=False)
