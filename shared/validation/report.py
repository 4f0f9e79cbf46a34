"""What a validation finds: errors, warnings, statistics, and their JSON shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_LISTED_ERRORS = 100
MAX_LISTED_LINES = 20


def printable(message: str) -> str:
    """`message` with unpaired surrogates (quoted from a line's JSON) as `\\udXXX` escapes.

    JSON may spell lone surrogates; quoted as they are, the report could not be written as UTF-8.
    """
    return message.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Finding:
    """An error: the file cannot be used for training as it is.

    `line` is 1-based, or None for a file-level error; `message` is a sentence naming the place.
    """

    file: str
    line: int | None
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class DatasetWarning:
    """A risk that does not stop training: duplicates, overlap, a small or uniform dataset.

    `lines` lists the lines concerned (at most `MAX_LISTED_LINES`; the message says how many more),
    empty for a warning about the dataset as a whole.
    """

    file: str
    code: str
    message: str
    lines: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "code": self.code,
            "message": self.message,
            "lines": list(self.lines),
        }


@dataclass(frozen=True)
class FileStats:
    """Counts for one file; token figures cover the valid examples only."""

    file: str
    bytes: int
    lines: int
    examples: int
    invalid_lines: int
    messages: int
    tokens: int
    assistant_tokens: int
    min_example_tokens: int
    max_example_tokens: int

    @property
    def mean_example_tokens(self) -> float:
        return self.tokens / self.examples if self.examples else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "bytes": self.bytes,
            "lines": self.lines,
            "examples": self.examples,
            "invalid_lines": self.invalid_lines,
            "messages": self.messages,
            "tokens": self.tokens,
            "assistant_tokens": self.assistant_tokens,
            "tokens_per_example": {
                "min": self.min_example_tokens,
                "mean": round(self.mean_example_tokens, 1),
                "max": self.max_example_tokens,
            },
        }


@dataclass(frozen=True)
class TrainingEstimate:
    """What training on the file would bill, for the chosen or the automatic number of epochs."""

    model: str
    max_example_tokens: int | None
    epochs: int
    epochs_rule: str
    billable_tokens_per_epoch: int
    training_usd_per_million_tokens: float | None
    estimated_cost_usd: float | None
    """None when the model's price is unknown (a model `shared.models` does not list)."""

    @property
    def billable_training_tokens(self) -> int:
        return self.billable_tokens_per_epoch * self.epochs


@dataclass(frozen=True)
class ValidationStats:
    """Per-file counts, their totals, and the training estimate."""

    files: tuple[FileStats, ...]
    estimate: TrainingEstimate
    token_counting: str

    def to_dict(self) -> dict[str, Any]:
        estimate = self.estimate
        return {
            "model": estimate.model,
            "max_example_tokens": estimate.max_example_tokens,
            "files": {stats.file: stats.to_dict() for stats in self.files},
            "totals": {
                key: sum(getattr(stats, key) for stats in self.files)
                for key in ("bytes", "examples", "messages", "tokens", "assistant_tokens")
            },
            "epochs": estimate.epochs,
            "epochs_rule": estimate.epochs_rule,
            "billable_tokens_per_epoch": estimate.billable_tokens_per_epoch,
            "billable_training_tokens": estimate.billable_training_tokens,
            "training_usd_per_million_tokens": estimate.training_usd_per_million_tokens,
            "estimated_training_cost_usd": (
                None
                if estimate.estimated_cost_usd is None
                else round(estimate.estimated_cost_usd, 4)
            ),
            "token_counting": self.token_counting,
        }


@dataclass(frozen=True)
class ValidationReport:
    """The verdict on a training file (and its validation file): valid when it has no errors."""

    valid: bool
    errors: tuple[Finding, ...]
    warnings: tuple[DatasetWarning, ...]
    stats: ValidationStats
    errors_omitted: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: valid, errors, warnings, stats and errors_omitted."""
        return {
            "valid": self.valid,
            "errors": [error.to_dict() for error in self.errors],
            "warnings": [warning.to_dict() for warning in self.warnings],
            "stats": self.stats.to_dict(),
            "errors_omitted": self.errors_omitted,
        }


class ErrorList:
    """Collects errors, keeping the first `MAX_LISTED_ERRORS` by file order and line."""

    def __init__(self, file_order: tuple[str, ...]) -> None:
        self._rank = {name: index for index, name in enumerate(file_order)}
        self._kept: list[Finding] = []
        self.total = 0

    def add(self, file: str, line: int | None, code: str, message: str) -> None:
        self.total += 1
        self._kept.append(Finding(file, line, code, printable(message)))
        if len(self._kept) >= 4 * MAX_LISTED_ERRORS:
            self._kept = self._sorted()[:MAX_LISTED_ERRORS]

    def _sorted(self) -> list[Finding]:
        big = 1 << 62
        return sorted(
            self._kept,
            key=lambda f: (self._rank.get(f.file, 0), f.line if f.line is not None else big),
        )

    def listed(self) -> tuple[Finding, ...]:
        return tuple(self._sorted()[:MAX_LISTED_ERRORS])


class LineList:
    """Line numbers of one concern: the first `MAX_LISTED_LINES` kept, all counted."""

    __slots__ = ("count", "lines")

    def __init__(self) -> None:
        self.lines: list[int] = []
        self.count = 0

    def add(self, line: int) -> None:
        """Counts `line` once; a line already listed is not counted again."""
        lines = self.lines
        if len(lines) < MAX_LISTED_LINES:
            if line in lines:
                return
            lines.append(line)
        self.count += 1

    def merged_with(self, other: LineList) -> LineList:
        merged = LineList()
        merged.count = self.count + other.count
        merged.lines = sorted(set(self.lines) | set(other.lines))[:MAX_LISTED_LINES]
        return merged

    def listed(self) -> tuple[int, ...]:
        return tuple(sorted(self.lines))

    def more_note(self) -> str:
        """`" (20 lines listed, 35 more)"` when some were left out, else empty."""
        more = self.count - len(self.lines)
        return f" ({len(self.lines)} lines listed, {more} more)" if more > 0 else ""
