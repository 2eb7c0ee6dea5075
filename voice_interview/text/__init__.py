"""Text handling shared across the project (see :mod:`voice_interview.text.normalize`)."""
