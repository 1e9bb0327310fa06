"""The engine interface. The pipeline never knows which engine it talks to. (The data it speaks in,
Voice, SynthRequest, Synthesis and Boundary, is in models.py, low in the house: the segment cache
stores it without importing the engines.)

An engine turns spoken units into mono PCM plus optional word boundaries. It is handed a
batch of requests (those not already in the segment cache) and reports each finished one
through a callback as soon as it is done, so the caller can cache it immediately: a crash or
Ctrl-C loses only the in-flight segments. Failures are collected and raised as one
SynthesisError after every other request has finished.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from ..models import Synthesis, SynthRequest

OnDone = Callable[[SynthRequest, Synthesis], None]
Failures = list[tuple[SynthRequest, BaseException]]


def collect(futures: Mapping[cf.Future[Synthesis], SynthRequest], on_done: OnDone,
            failing: tuple[type[BaseException], ...]) -> Failures:
    """Report each request as its future finishes; gather the `failing` errors (the others still
    finish); on anything else (Ctrl-C), cancel what hasn't started and re-raise."""
    failures: Failures = []
    try:
        for future in cf.as_completed(futures):
            request = futures[future]
            try:
                result = future.result()
            except failing as exc:
                failures.append((request, exc))
                continue
            on_done(request, result)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return failures


class Engine(Protocol):
    name: str  # its registry name
    version: str  # bumps invalidate cached segments
    sample_rate: int

    def synthesize(self, requests: Sequence[SynthRequest], on_done: OnDone) -> None:
        """Synthesize every request, calling on_done(request, synthesis) as each finishes.

        Raises SynthesisError naming the failed sentences only after all others finished.
        """
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...
