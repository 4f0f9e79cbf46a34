"""Tunedrop's version, reported by `GET /api/health` and read by pyproject.toml."""

VERSION = "0.1.0"
