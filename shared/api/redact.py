"""The API's last guard before text leaves it: `shared.redact`, where it lives since the events
(`shared.notifications`) redact with it too, below the API layer."""

from shared.redact import MASK, redact, redact_text

__all__ = ["MASK", "redact", "redact_text"]
