"""The fixtures every test area shares, in one place. User state goes to a temp dir; the real sample
lives in ../shared (absent on a user's fresh clone: tests that need it skip with a reason).

Fakes of outside services are real implementations of what they stand in for:
- `fake_edge`, `quick_fake`, `slow_fake`, `start_fake_edge`: the Edge speech service speaking its real
  websocket protocol on loopback (audiobook/testing/edge_service.py), the edge engine (in this process
  and in subprocesses) pointed at it: the real voice, a cheap tone voice, the tone voice behind 0.3 s
  of latency, or any speech and faults;
- `memory_engine`: an engine registered in the engine registry like the real ones, making tones in
  memory (audiobook/testing/memory_engine.py), for renders whose engine does not matter;
- `web`: a real HTTP server on loopback serving the pages and feeds a test puts in it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from audiobook.testing.edge_service import FakeEdgeService, Faults, SpeechSource
from tests.support.articles import numbered_article, quick_speech, use_fake, use_own_cache


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
def own_cache(_isolated_cache: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A segment cache of the test's own, so counts don't depend on what other tests cached (the
    session's patched voice model is shared through a symlink)."""
    return use_own_cache(monkeypatch, tmp_path)


@pytest.fixture
def write_article(tmp_path: Path) -> Callable[..., Path]:
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
def start_fake_edge(edge_client_env: None, monkeypatch: pytest.MonkeyPatch
                    ) -> Iterator[Callable[..., FakeEdgeService]]:
    """start_fake_edge(speech=..., faults=...): a fake Edge service on a loopback port, stopped after
    the test; the edge engine (here and in subprocesses, through the environment) is pointed at the
    last one started, unless point_engine=False (tests that hand the engine or client its URL)."""
    from audiobook.testing.edge_service import running_fake

    with contextlib.ExitStack() as running:
        def start(speech: SpeechSource | None = None, faults: Faults | None = None,
                  point_engine: bool = True) -> FakeEdgeService:
            fake = running.enter_context(running_fake(FakeEdgeService(speech, faults) if speech else
                                                      FakeEdgeService(faults=faults)))
            return use_fake(fake, monkeypatch) if point_engine else fake

        yield start


@pytest.fixture
def fake_edge(warm_fake_voice: None, start_fake_edge: Callable[..., FakeEdgeService]) -> FakeEdgeService:
    """The fake Edge service speaking with the real (local) voice; the engine is given its URL by the
    test (EdgeConfig(wss_url=fake_edge.wss_url)), the environment names none."""
    return start_fake_edge(point_engine=False)


@pytest.fixture
def quick_fake(start_fake_edge: Callable[..., FakeEdgeService]) -> FakeEdgeService:
    """The fake Edge service speaking with a cheap tone voice (tests/support/articles.quick_speech)."""
    return start_fake_edge(quick_speech)


@pytest.fixture
def slow_fake(own_cache: Path, start_fake_edge: Callable[..., FakeEdgeService]) -> FakeEdgeService:
    """The tone voice behind 0.3 s of latency per request, with the test's own cache: a render
    takes long enough to be killed or interrupted in the middle."""
    return start_fake_edge(quick_speech, Faults(latency_s=0.3))


@pytest.fixture
def numbered_render(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(article, output folder, config) of a render slow enough against `slow_fake` to interrupt."""
    article = tmp_path / "article.md"
    article.write_text(numbered_article(), encoding="utf-8")
    config = tmp_path / "audiobook.toml"
    config.write_text("[edge]\nconcurrency = 2\n", encoding="utf-8")  # slow: ~15 rounds of 0.3 s
    return article, tmp_path / "out", config


# ------------------------------------------------------------------------ an engine in memory


@pytest.fixture
def memory_engine() -> Iterator[str]:
    """The in-memory engine, registered in the engine registry for this test; its name (pass it
    where an engine is asked for). Its requests are in audiobook.testing.memory_engine.HISTORY."""
    from audiobook.testing.memory_engine import HISTORY, registered

    HISTORY.clear()
    with registered() as name:
        yield name


# ------------------------------------------------------------------------ a web server on loopback


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A real HTTP server on 127.0.0.1 serving pages and feeds the test puts in `web.routes`
    (tests/support/web.py); no proxy between it and the client."""
    from tests.support.web import serving

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with serving() as server:
        yield server
