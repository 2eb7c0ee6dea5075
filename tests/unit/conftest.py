"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from voice_interview.engines.embed import Embedder
from voice_interview.engines.models import ModelNotFoundError, resolve_model
from voice_interview.settings import Settings


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled MiniLM, loaded once for every unit test that scores text."""
    try:
        return Embedder(resolve_model("embed", Settings()))
    except ModelNotFoundError as e:
        pytest.skip(f"bundled embedding model not installed: {e}")
