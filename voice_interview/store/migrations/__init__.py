"""Alembic migrations of the store's schema (env.py, versions/). Run them with
``voice-interview db upgrade``; see voice_interview.store.schema."""
