"""Shared fixtures. User state goes to a temp dir; the real sample lives in ../shared
(absent on a user's fresh clone: tests that need it skip with a reason)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
SAMPLE = SHARED / "corpus" / "deepseek-essay.txt"
EXAMPLE = PROJECT / "examples" / "tea-and-code.md"

needs_sample = pytest.mark.skipif(
    not SAMPLE.exists(), reason="real sample ../shared/corpus/deepseek-essay.txt not present (fresh clone)"
)


def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "audiobook-cache"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Set up before any module- or session-scoped fixture (e.g. one that warms a voice model), so
    not even those write to the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUDIOBOOK_CACHE_DIR", str(_session_cache(tmp_path_factory)))
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's cache; share one cache dir per session so the patched model is reused.
    (Per test too, so a test that points it elsewhere gets it back afterwards.)"""
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(_session_cache(tmp_path_factory)))


@pytest.fixture
def write_article(tmp_path: Path):
    def write(text: str | bytes, name: str = "article.txt") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


# ------------------------------------------------------------------------ the fake Edge service


@pytest.fixture(scope="session")
def warm_fake_voice() -> None:
    """Load the local voice the fake Edge service speaks with once per session (a few seconds),
    in the session cache dir, outside any test's timeouts."""
    from audiobook.testing.edge_service import local_speech

    local_speech("你好")


@pytest.fixture
def edge_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy between edge-tts and a loopback fake, no endpoint from the environment, and
    edge-tts's process-wide clock-skew correction reset (a 403 fault in one test moves it)."""
    from edge_tts.drm import DRM

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "WS_PROXY", "http_proxy", "https_proxy",
                "AUDIOBOOK_EDGE_WSS_URL", "AUDIOBOOK_EDGE_VOICES_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(DRM, "clock_skew_seconds", 0.0)


@pytest.fixture
def fake_edge(warm_fake_voice: None, edge_client_env: None):
    """A fake Edge service (real websocket protocol, local-voice speech) on a loopback port."""
    from audiobook.testing.edge_service import running_fake

    with running_fake() as fake:
        yield fake


# ------------------------------------------------------------------------ a web server on loopback


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch):
    """A real HTTP server on 127.0.0.1 serving pages and feeds the test puts in `web.routes`
    (tests/webfixtures.py); no proxy between it and the client."""
    from webfixtures import serving

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with serving() as server:
        yield server
