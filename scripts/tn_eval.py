"""Score the spoken-form normalizer on the public TN test pairs in ../shared/reference/tn-cases/.

    uv run python scripts/tn_eval.py [-v]

Formats: wetextprocessing/*.txt `written => spoken`, nemo/*.txt `written~spoken`.
The normalizer runs as for the edge engine with an empty lexicon, i.e. plain text
normalization with Latin words kept, which is what these suites expect.

Dropped cases (they test choices a narrator deliberately does not make):
- erhua removal: the written side has more 儿 than the expected side (这儿有只鸟儿 => 这有只鸟);
- filler removal: the written side has more 呃/啊/嗯 than the expected side (呃这个呃啊 => 这个);
- punctuation width only: written and expected are equal after folding full-width punctuation
  to half-width (好！ => 好!) — we keep Chinese punctuation for prosody on purpose;
- tag_oov: the expected side contains <oov> tags (needs a different wetext option).
Scoring is convention-aware: both sides are compared after OpenCC t2s (we keep Traditional
script), folding punctuation width, removing whitespace, and treating 两/二, 幺/一, 号/日 as
equal. Everything else must match exactly.
"""

from __future__ import annotations

import sys
import time
import unicodedata
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
CASES = SHARED / "reference" / "tn-cases"
FILLERS = "呃啊嗯"
EQUIVALENT = str.maketrans({"两": "二", "幺": "一", "号": "日"})
HALF_WIDTH = str.maketrans(
    {
        "，": ",",
        "。": ".",
        "：": ":",
        "；": ";",
        "！": "!",
        "？": "?",
        "、": ",",
        "（": "(",
        "）": ")",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
    }
)


def parse(path: Path) -> list[tuple[str, str]]:
    sep = "=>" if path.parent.name == "wetextprocessing" else "~"
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if sep not in line:
            continue
        written, spoken = line.split(sep, 1)
        pairs.append((written.strip(), spoken.strip()))
    return pairs


def fold_width(text: str) -> str:
    """Full-width punctuation → half-width (letters and digits are left to the normalizer)."""
    return "".join(
        unicodedata.normalize("NFKC", ch) if unicodedata.category(ch).startswith("P") else ch
        for ch in text.translate(EQUIVALENT).translate(HALF_WIDTH)
    )


def drop_reason(written: str, expected: str) -> str | None:
    if "<oov>" in expected:
        return "tag_oov"
    if written.count("儿") > expected.count("儿"):
        return "erhua"
    if sum(map(written.count, FILLERS)) > sum(map(expected.count, FILLERS)):
        return "filler"
    if written != expected and fold_width(written) == fold_width(expected):
        return "punctuation width"
    return None


def canonical(text: str, t2s) -> str:
    return "".join(fold_width(t2s(text)).split())


def main(argv: list[str]) -> int:
    if not CASES.is_dir():
        print(f"tn_eval: test cases not found at {CASES} (../shared is absent); nothing to score.")
        return 0
    import opencc

    from audiobook.text.lexicon import Lexicon
    from audiobook.text.normalize import Normalizer

    verbose = "-v" in argv
    t2s = opencc.OpenCC("t2s").convert
    normalizer = Normalizer(Lexicon(), engine="edge")
    normalizer.spoken("预热1")  # load the FSTs outside the timing
    totals = [0, 0]
    started = time.perf_counter()
    for path in sorted(CASES.glob("*/*.txt")):
        pairs, dropped, failures = parse(path), 0, []
        for written, expected in pairs:
            if drop_reason(written, expected):
                dropped += 1
                continue
            got = normalizer.spoken(written).text
            if canonical(got, t2s) != canonical(expected, t2s):
                failures.append((written, expected, got))
        scored = len(pairs) - dropped
        passed = scored - len(failures)
        totals[0] += passed
        totals[1] += scored
        rate = f"{100 * passed / scored:5.1f}%" if scored else "  n/a"
        name = f"{path.parent.name}/{path.name}"
        print(f"{name:42} {passed:3}/{scored:<3} {rate}   (dropped {dropped})")
        if verbose or path.name == "normalizer.txt":
            for written, expected, got in failures:
                print(f"    FAIL {written!r}: expected {expected!r}, got {got!r}")
    elapsed = time.perf_counter() - started
    rate = 100 * totals[0] / max(totals[1], 1)
    print(f"{'total':42} {totals[0]:3}/{totals[1]:<3} {rate:5.1f}%   ({elapsed:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
