"""What the improvement needs from the outside, as small Protocols, and its settings.

It also uses the evaluation's `ModelCalls` (the grader) and `EvaluationReports` (the reports
container), from `Services.evaluation`. Methods raise only `shared.errors` types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ImprovementSettings:
    """The IMPROVE_* app settings (see the README's "Improving a run")."""

    phrasings: int = 12
    """IMPROVE_PHRASINGS: new user turns the grader writes per training example, at most."""
    max_usd: float = 5.0
    """IMPROVE_MAX_USD: the most a child's training may cost when run.json sets no cap."""
    max_examples: int = 200
    """IMPROVE_MAX_EXAMPLES: a larger training file is not improved (one grader call each)."""
    max_tokens: int = 1500
    parallel_calls: int = 8
    """Grader calls made at once: 200 examples take 25 rounds, not 200."""


class InboxWriter(Protocol):
    """Writes a NEW run folder into the inbox. Never changes or deletes a blob that exists."""

    def has_folder(self, run: str) -> bool:
        """True when any blob exists under `<run>/`."""
        ...

    def create(self, path: str, content: bytes) -> bool:
        """Creates the blob at `path`; False (and nothing written) when it already exists."""
        ...


class ImprovementFiles(Protocol):
    """The improvement's documents and the child's files, in the reports container."""

    def read_json(self, path: str) -> dict[str, Any] | None: ...

    def read_text(self, path: str) -> str | None:
        """The text at `path`, or None if there is none."""
        ...

    def write_json(self, path: str, document: Mapping[str, Any]) -> None: ...

    def write_text(self, path: str, text: str, content_type: str) -> None: ...


@dataclass(frozen=True)
class ImprovementKit:
    """Everything the improvement needs beyond the run's services and the evaluation kit."""

    settings: ImprovementSettings
    inbox: InboxWriter
    reports: ImprovementFiles
