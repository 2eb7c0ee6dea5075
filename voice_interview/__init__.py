"""voice_interview: an offline, streaming-first voice interview server."""

__version__ = "0.1.0"
