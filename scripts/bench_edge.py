"""Wall time of EdgeEngine for N sentences at concurrency 1 vs the default (8), against the local
fake Edge service with a fixed latency before the first byte (default 300 ms).

    uv run python scripts/bench_edge.py [--sentences 32] [--latency 0.3] [--speech local|tone]

The fake renders every sentence once before timing, so what is measured is the engine (connection
set-up, streaming, ffmpeg decode, the concurrency cap), not the fake's synthesis."""

from __future__ import annotations

import argparse
import os
import time

from audiobook.config import EdgeConfig
from audiobook.tts.base import SynthRequest, Voice
from audiobook.tts.edge import EdgeEngine
from audiobook.tts.fakeserver import Faults, local_speech, running_fake, tone_speech

DIGITS = "零一二三四五六七八九"


def sentences(n: int) -> list[str]:
    return [f"这是第{''.join(DIGITS[int(d)] for d in str(i))}句，用来测量并发的速度。" for i in range(n)]


def bench(n: int = 32, latency_s: float = 0.3, concurrencies: tuple[int, ...] = (1, 8),
          speech: str = "local") -> dict[int, float]:
    """Seconds of wall time per concurrency level."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    requests = [SynthRequest(f"k{i}", text, Voice("edge", "zh-CN-XiaoxiaoNeural"))
                for i, text in enumerate(sentences(n))]
    source = local_speech if speech == "local" else tone_speech
    results: dict[int, float] = {}
    with running_fake(speech=source) as fake:
        def engine(concurrency: int) -> EdgeEngine:
            return EdgeEngine(EdgeConfig(wss_url=fake.wss_url, voices_url=fake.voices_url,
                                         concurrency=concurrency))

        engine(8).synthesize(requests, lambda _r, _s: None)  # warm the fake's render cache
        fake.faults = Faults(latency_s=latency_s)
        for concurrency in concurrencies:
            fake.max_active = 0
            start = time.perf_counter()
            engine(concurrency).synthesize(requests, lambda _r, _s: None)
            results[concurrency] = time.perf_counter() - start
            assert fake.max_active <= concurrency
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--speech", choices=("local", "tone"), default="local")
    args = parser.parse_args()
    times = bench(args.sentences, args.latency, speech=args.speech)
    for concurrency, seconds in times.items():
        per_ms = seconds / args.sentences * 1000
        print(f"concurrency {concurrency}: {seconds:6.2f} s  ({per_ms:5.0f} ms/sentence)")
    print(f"speed-up 1 → 8: {times[1] / times[8]:.1f}x")


if __name__ == "__main__":
    main()
