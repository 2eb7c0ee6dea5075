"""Where the tests find the repository's files, wherever a test module sits."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DATA = TESTS / "data"
FIXTURES = REPO / "audio_fixtures"
SHARED = REPO.parent / "shared"  # the workplace's files; tests that read them skip without
