"""Persistence: SQLAlchemy tables and the repository."""
