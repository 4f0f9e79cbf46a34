"""One file's pass through the rules: lines in, errors, counts and observations out."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from shared.models import BaseModel
from shared.validation.dataset_rules import SHORT_REPLY_TOKENS, TRUNCATION_RISK_SHARE, FileObserver
from shared.validation.digest_index import digest
from shared.validation.example_rules import ExampleShape, check_example
from shared.validation.reader import LineReader
from shared.validation.report import ErrorList, FileStats, LineList
from shared.validation.token_pipeline import Encode, TokenPipeline
from shared.validation.values import STRICTER

MAX_LINE_BYTES = 4 * 1024 * 1024
"""Longest line read: 8x the largest JSON a 65,536-token example plausibly needs."""
BATCH_TEXTS = 512
MAX_KNOWN_TEXTS, MAX_KNOWN_TEXT_CHARS = 64, 20_000  # system messages counted once, not per example

Pending = list[tuple[int, int, ExampleShape]]
"""A batch of valid examples waiting for their token counts: (line, line digest, shape)."""


@dataclass
class FileCheck:
    """One file's pass: reads its lines, reports its errors, keeps its counts and observer."""

    name: str
    observer: FileObserver
    model: BaseModel
    errors: ErrorList
    encode: Encode
    bytes: int = 0
    lines: int = 0
    examples: int = 0
    invalid_lines: int = 0
    non_blank: bool = False
    messages: int = 0
    tokens: int = 0
    assistant_tokens: int = 0
    min_tokens: int = 0
    max_tokens: int = 0

    def _error(self, line: int, code: str, message: str) -> None:
        self.errors.add(self.name, line, code, message)

    def run(
        self,
        chunks: Iterable[bytes],
        pipeline: TokenPipeline[Pending],
        known_tokens: dict[str, int],
        max_file_bytes: int,
    ) -> None:
        """Checks every line of `chunks`, counting tokens through `pipeline`."""
        reader = LineReader(chunks, MAX_LINE_BYTES, max_file_bytes)
        texts: list[str] = []
        pending: Pending = []
        for line, raw in reader:
            self.lines = line
            parsed = self._parse(line, raw, known_tokens)
            if parsed is None:
                continue
            pending.append(parsed)
            texts.extend(parsed[2].texts)
            if len(texts) >= BATCH_TEXTS:
                for done, counts in pipeline.submit(texts, pending):
                    self._fold(done, counts)
                texts, pending = [], []
        if pending:
            for done, counts in pipeline.submit(texts, pending):
                self._fold(done, counts)
        for done, counts in pipeline.drain():
            self._fold(done, counts)
        self.bytes = reader.bytes_read
        self._file_errors(reader.over_size_limit, max_file_bytes)

    def _parse(
        self, line: int, raw: bytes | None, known_tokens: dict[str, int]
    ) -> tuple[int, int, ExampleShape] | None:
        """`(line, digest of the trimmed line, shape)` of a valid example; errors reported."""
        if raw is None:
            self.non_blank = True
            self.invalid_lines += 1
            self._error(
                line,
                "line_too_long",
                f"line {line}: is longer than {MAX_LINE_BYTES // 2**20} MiB, far more than an "
                f"example within the token limit needs; it was skipped unread. ({STRICTER}: "
                "it would train on such an example cut to the token limit).",
            )
            return None
        stripped = raw.strip()
        if not stripped:
            self.observer.blank_lines.add(line)
            return None
        self.non_blank = True
        self.invalid_lines += 1  # undone below if the example turns out valid
        try:
            text = stripped.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._error(
                line,
                "not_utf8",
                f"line {line}: is not valid UTF-8 (byte 0x{stripped[exc.start]:02x} at byte "
                f"{exc.start + 1}); save the file as UTF-8.",
            )
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            self._error(
                line,
                "invalid_json",
                f"line {line}: is not valid JSON: {exc.msg} at column {exc.colno}.",
            )
            return None
        except ValueError:
            # Python refuses integers of more than 4,300 digits (int_max_str_digits).
            self._error(
                line,
                "invalid_json",
                f"line {line}: is not usable JSON: it holds a number of thousands of digits.",
            )
            return None
        except RecursionError:
            self._too_deep(line)
            return None
        try:
            shape, problems = check_example(value, line, known_tokens)
        except RecursionError:
            # Nesting the parser accepted can still be too deep to write back as JSON text.
            self._too_deep(line)
            return None
        for code, message in problems:
            self._error(line, code, message)
        if shape is None:
            return None
        self.invalid_lines -= 1
        system = shape.system
        if (
            system is not None
            and system not in known_tokens
            and len(known_tokens) < MAX_KNOWN_TEXTS
            and len(system) <= MAX_KNOWN_TEXT_CHARS
        ):
            known_tokens[system] = len(self.encode(system))
        return line, digest(stripped), shape

    def _too_deep(self, line: int) -> None:
        self._error(
            line,
            "too_deeply_nested",
            f"line {line}: nests lists or objects too deeply to read; chat examples need "
            "only a few levels.",
        )

    def _fold(self, pending: Pending, counts: list[int]) -> None:
        # A model whose limit Tunedrop does not know is left to the service to check.
        limit = self.model.max_example_tokens or sys.maxsize
        risky = TRUNCATION_RISK_SHARE * limit
        observer = self.observer
        position = 0
        for line, key, shape in pending:
            end = position + len(shape.texts)
            own = counts[position:end]
            position = end
            tokens = shape.fixed_tokens + sum(own)
            if tokens > limit:
                self.invalid_lines += 1
                self._error(
                    line,
                    "example_too_long",
                    f"line {line}: has {tokens:,} tokens, over the {limit:,}-token limit per "
                    f"example of {self.model.name}; shorten or split it. ({STRICTER}: it would "
                    "train on the example cut to the limit, losing the end of the reply).",
                )
                continue
            self.examples += 1
            self.messages += shape.messages
            self.tokens += tokens
            self.min_tokens = tokens if self.examples == 1 else min(self.min_tokens, tokens)
            self.max_tokens = max(self.max_tokens, tokens)
            shortest = SHORT_REPLY_TOKENS
            for index in shape.trained:
                count = own[index]
                self.assistant_tokens += count
                shortest = min(shortest, count)
            if tokens > risky:
                observer.truncation_risk.add(line)
            if shortest < SHORT_REPLY_TOKENS:
                observer.short_replies.add(line)
            observer.observe(line, key, shape)

    def _file_errors(self, over_size_limit: bool, max_file_bytes: int) -> None:
        if not self.non_blank:
            self.observer.blank_lines = LineList()  # "empty" says it all
            self.errors.add(self.name, None, "empty_file", f"{self.name} is empty: no examples.")
        if over_size_limit:
            self.errors.add(
                self.name,
                None,
                "file_too_large",
                f"{self.name} is larger than the {_size(max_file_bytes)} upload limit for a "
                f"fine-tuning file; only its first {_size(max_file_bytes)} were checked.",
            )

    def stats(self) -> FileStats:
        return FileStats(
            file=self.name,
            bytes=self.bytes,
            lines=self.lines,
            examples=self.examples,
            invalid_lines=self.invalid_lines,
            messages=self.messages,
            tokens=self.tokens,
            assistant_tokens=self.assistant_tokens,
            min_example_tokens=self.min_tokens,
            max_example_tokens=self.max_tokens,
        )


def _size(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:g} MiB"
    return f"{size:,} bytes"
