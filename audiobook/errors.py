"""The project's exceptions. Every message says what went wrong and how to fix it.

The CLI turns any AudiobookError into one line on stderr and exit code 1; third-party
errors are translated into these at exactly one seam per library.
"""


class AudiobookError(Exception):
    """Base class for every error a user can cause or fix."""


class InputError(AudiobookError):
    """The article file can't be read, decoded or has nothing to narrate."""


class MusicError(InputError):
    """A music file (intro, outro, transition) is missing, unreadable, not audio, silent or too long."""


class ConfigError(AudiobookError):
    """audiobook.toml, a voice profile or the lexicon is invalid."""


class EngineError(AudiobookError):
    """A speech engine failed (model missing, service unreachable, bad voice)."""


class SynthesisError(EngineError):
    """One or more sentences could not be synthesized after all retries."""


class AudioError(AudiobookError):
    """Decoding, assembling or encoding audio failed (ffmpeg)."""


class SegmentsLost(AudioError):
    """Cached segments a chapter needs were corrupt or gone when it was assembled (the render
    synthesizes them again once)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.synthesized = 0  # what the synthesis stage of that attempt had done


class PublishError(AudiobookError):
    """Writing outputs (MP3 tags, sidecars, feed) failed."""


class LockedError(AudiobookError):
    """Another render of the same article is running."""
