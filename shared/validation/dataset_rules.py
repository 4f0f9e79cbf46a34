"""Risks visible only across examples: duplicates, overlap, system messages, size, uniformity.

Measured rules, each a warning that lists the lines concerned (dataset-wide ones list none):
- `blank_line`: blank lines between the examples; skipped here and by the local emulator, while
  the service does not document how it treats them.
- `duplicate_example`: a line byte-for-byte equal (after trimming) to an earlier line.
- `duplicate_prompt`: an example whose prompt (the roles and texts of every non-system message
  before the last assistant message, compared exactly) equals an earlier example's, when the
  line is not an exact duplicate; the message tells same-answer from different-answer repeats.
- `train_validation_overlap`: a validation example whose prompt is a training example's prompt.
- `missing_system_message`: some or all examples have no system message.
- `inconsistent_system_message`: system messages differ; lines differing from the most common.
- `truncation_risk`: an example above `TRUNCATION_RISK_SHARE` of the model's per-example limit.
- `short_assistant_reply`: a trained assistant reply under `SHORT_REPLY_TOKENS` tokens.
- `small_dataset`: fewer than `SMALL_DATASET_EXAMPLES` training examples.
- `low_prompt_diversity`: under `MIN_DISTINCT_PROMPT_SHARE` of training examples have a prompt
  of their own.
- `templated_prompts`: at least `TEMPLATE_SHARE` of training examples' last user messages start
  with the same `TEMPLATE_PREFIX_CHARS` characters, whitespace collapsed and case folded (one
  phrasing only; messages of up to 16 characters are not counted).
- `uniform_subject_naming`: at least 90 % of training examples' last user messages name one
  subject the same way (`subject_rules`): the model may not answer when it is named otherwise.
Memory stays flat: digests in `DigestIndex`, line lists capped, bounded tallies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.validation.digest_index import DigestIndex, digest
from shared.validation.example_rules import ExampleShape, normalize
from shared.validation.report import DatasetWarning, LineList, printable
from shared.validation.subject_rules import SubjectNaming

TRUNCATION_RISK_SHARE = 0.9
SHORT_REPLY_TOKENS = 3
SMALL_DATASET_EXAMPLES = 50
MIN_DISTINCT_PROMPT_SHARE = 0.5
TEMPLATE_SHARE = 0.5
TEMPLATE_PREFIX_CHARS = 12
MIN_EXAMPLES_FOR_SHARES = 10
MAX_TRACKED_SYSTEM_MESSAGES = 32
MAX_TRACKED_PREFIXES = 4096


@dataclass
class _Tally:
    count: int = 0
    lines: LineList = field(default_factory=LineList)

    def add(self, line: int) -> None:
        self.count += 1
        self.lines.add(line)


class FileObserver:
    """Watches the valid examples of one file and turns what it saw into warnings.

    `training_prompts` is the training file's prompt index when this file is the validation file.
    """

    def __init__(self, file: str, training_prompts: DigestIndex | None = None) -> None:
        self.file = file
        self.examples = DigestIndex()
        self.prompts = DigestIndex(with_tags=True)
        self._training_prompts = training_prompts
        self._duplicates = LineList()
        self._first_of_duplicate: tuple[int, int] | None = None
        self._prompt_repeats = LineList()
        self._first_of_prompt_repeat: tuple[int, int] | None = None
        self._same_answer = 0
        self._prompt_repeats_count = 0
        self._overlap = LineList()
        self._first_overlap: tuple[int, int] | None = None
        self._no_system = LineList()
        self._systems: dict[int, _Tally] = {}
        self._untracked_systems = _Tally()
        self._prefixes: dict[str, _Tally] = {}
        self.truncation_risk = LineList()
        self.short_replies = LineList()
        self.blank_lines = LineList()
        self._subject = SubjectNaming() if training_prompts is None else None
        self.valid_examples = 0

    def observe(self, line: int, line_key: int, shape: ExampleShape) -> None:
        """Records a valid example: the digest of its trimmed line bytes, and its shape."""
        self.valid_examples += 1
        first = self.examples.add(line_key, line)
        prompt_key = digest(shape.prompt)
        answer = digest(shape.texts[shape.final_reply])
        if first is not None:
            self._duplicates.add(first[0])
            self._duplicates.add(line)
            self._first_of_duplicate = self._first_of_duplicate or (line, first[0])
            self.prompts.add(prompt_key, line, answer)
        else:
            seen = self.prompts.add(prompt_key, line, answer)
            if seen is not None:
                self._prompt_repeats.add(seen[0])
                self._prompt_repeats.add(line)
                self._prompt_repeats_count += 1
                self._same_answer += seen[1] == answer
                self._first_of_prompt_repeat = self._first_of_prompt_repeat or (line, seen[0])
        if self._training_prompts is not None:
            in_training = self._training_prompts.find(prompt_key)
            if in_training is not None:
                self._overlap.add(line)
                self._first_overlap = self._first_overlap or (line, in_training[0])
        self._observe_system(line, shape.system)
        if self._subject is not None:
            self._subject.observe(line, shape.final_user)
        text = normalize(shape.final_user[: 4 * TEMPLATE_PREFIX_CHARS])
        if len(text) > TEMPLATE_PREFIX_CHARS + 4:
            prefix = text[:TEMPLATE_PREFIX_CHARS]
            tally = self._prefixes.get(prefix)
            if tally is None and len(self._prefixes) < MAX_TRACKED_PREFIXES:
                tally = self._prefixes[prefix] = _Tally()
            if tally is not None:
                tally.add(line)

    def _observe_system(self, line: int, system: str | None) -> None:
        if system is None:
            self._no_system.add(line)
            return
        key = digest(system)
        tally = self._systems.get(key)
        if tally is None:
            if len(self._systems) >= MAX_TRACKED_SYSTEM_MESSAGES:
                self._untracked_systems.add(line)
                return
            tally = self._systems[key] = _Tally()
        tally.add(line)

    def warnings(self, training_file: str, is_training: bool) -> list[DatasetWarning]:
        """The warnings this file deserves, in a fixed order of codes."""
        found: list[DatasetWarning] = []
        if self.blank_lines.count:
            found.append(
                self._warn(
                    "blank_line",
                    f"{self.blank_lines.count} blank line(s) hold no example; Tunedrop skips "
                    "them, but JSONL has no blank lines and Azure OpenAI does not document how "
                    "it treats them. Remove them to be safe.",
                    self.blank_lines,
                )
            )
        self._duplicate_warnings(found, training_file)
        self._system_warnings(found)
        if self.truncation_risk.count:
            found.append(
                self._warn(
                    "truncation_risk",
                    f"{self.truncation_risk.count} example(s) use more than "
                    f"{TRUNCATION_RISK_SHARE:.0%} of the model's per-example token limit; the "
                    "service's own rendering of an example adds tokens, and whatever passes "
                    "the limit (the end of the reply) is cut.",
                    self.truncation_risk,
                )
            )
        if self.short_replies.count:
            found.append(
                self._warn(
                    "short_assistant_reply",
                    f"{self.short_replies.count} trained assistant repl(ies) have fewer than "
                    f"{SHORT_REPLY_TOKENS} tokens; very short replies teach the model to answer "
                    "tersely.",
                    self.short_replies,
                )
            )
        if is_training:
            self._size_and_uniformity_warnings(found)
        return found

    def _warn(self, code: str, message: str, lines: LineList | None = None) -> DatasetWarning:
        if lines is None:
            return DatasetWarning(self.file, code, printable(message), ())
        return DatasetWarning(
            self.file, code, printable(message + lines.more_note()), lines.listed()
        )

    def _duplicate_warnings(self, found: list[DatasetWarning], training_file: str) -> None:
        if self._first_of_duplicate:
            line, first = self._first_of_duplicate
            found.append(
                self._warn(
                    "duplicate_example",
                    f"{self.examples_repeated} example(s) repeat an earlier line exactly (e.g. "
                    f"line {line} repeats line {first}); a duplicate counts twice in training. "
                    "Remove the copies.",
                    self._duplicates,
                )
            )
        if self._first_of_prompt_repeat:
            line, first = self._first_of_prompt_repeat
            repeats = self._prompt_repeats_count
            different = repeats - self._same_answer
            found.append(
                self._warn(
                    "duplicate_prompt",
                    f"{repeats} example(s) repeat the prompt of an earlier example (e.g. line "
                    f"{line} asks what line {first} asks): {different} with a different answer, "
                    f"{self._same_answer} with the same answer. Different answers to one prompt "
                    "teach conflicting replies; the same answer again over-weights it. Vary the "
                    "phrasing or merge them.",
                    self._prompt_repeats,
                )
            )
        if self._first_overlap:
            line, first = self._first_overlap
            found.append(
                self._warn(
                    "train_validation_overlap",
                    f"{self._overlap.count} validation example(s) ask what a training example "
                    f"asks (e.g. line {line} here and line {first} of {training_file}); the "
                    "validation loss then measures memory, not generalization, and hides "
                    "overfitting. Use prompts the training file does not have.",
                    self._overlap,
                )
            )

    @property
    def examples_repeated(self) -> int:
        return self.valid_examples - self.examples.size

    def _system_warnings(self, found: list[DatasetWarning]) -> None:
        total = self.valid_examples
        missing = self._no_system.count
        if missing and missing == total:
            found.append(
                self._warn(
                    "missing_system_message",
                    "No example has a system message; the deployed model will then behave as "
                    "trained only when called without one. Add the same system message to "
                    "every example if the app will send one.",
                    self._no_system,
                )
            )
        elif missing:
            found.append(
                self._warn(
                    "missing_system_message",
                    f"{missing} of {total} examples have no system message while the others "
                    "do; the model learns two behaviours. Give every example the same system "
                    "message.",
                    self._no_system,
                )
            )
        tallies = sorted(self._systems.values(), key=lambda tally: -tally.count)
        if len(tallies) + (self._untracked_systems.count > 0) <= 1:
            return
        majority = tallies[0]
        differing = LineList()
        for tally in [*tallies[1:], self._untracked_systems]:
            differing = differing.merged_with(tally.lines)
        found.append(
            self._warn(
                "inconsistent_system_message",
                f"{differing.count} example(s) have a system message different from the one "
                f"most examples use (as on line {majority.lines.lines[0]}); the model learns to "
                "depend on the exact text. Use one system message, the one the app will send.",
                differing,
            )
        )

    def _size_and_uniformity_warnings(self, found: list[DatasetWarning]) -> None:
        total = self.valid_examples
        if MIN_EXAMPLES_FOR_SHARES <= total < SMALL_DATASET_EXAMPLES:
            found.append(
                self._warn(
                    "small_dataset",
                    f"The training file has only {total} examples; fine-tuning usually needs "
                    f"at least {SMALL_DATASET_EXAMPLES} to learn a behaviour without "
                    "overfitting, and keeps improving up to hundreds.",
                )
            )
        if total < MIN_EXAMPLES_FOR_SHARES:
            return
        distinct = self.prompts.size
        if distinct < MIN_DISTINCT_PROMPT_SHARE * total:
            found.append(
                self._warn(
                    "low_prompt_diversity",
                    f"Only {distinct} of {total} training examples have a prompt of their own "
                    f"(under {MIN_DISTINCT_PROMPT_SHARE:.0%}); the model sees few different "
                    "questions and is likely to overfit them.",
                )
            )
        self._subject_warning(found)
        if not self._prefixes:
            return
        prefix, tally = max(self._prefixes.items(), key=lambda item: item[1].count)
        if tally.count >= TEMPLATE_SHARE * total:
            found.append(
                self._warn(
                    "templated_prompts",
                    f'{tally.count} of {total} examples\' last user messages start with "{prefix}"'
                    "; the model may learn to answer only that phrasing. Add other phrasings of "
                    "the same questions.",
                    tally.lines,
                )
            )

    def _subject_warning(self, found: list[DatasetWarning]) -> None:
        subject = self._subject.finding() if self._subject is not None else None
        if subject is None:
            return
        found.append(
            self._warn(
                "uniform_subject_naming",
                f"{subject.count} of {subject.total} training prompts name their subject as "
                f'"{subject.span[:60]}" (e.g. line {subject.lines.listed()[0]}); the model may '
                "learn to answer only when it is named exactly so, and give no answer when it "
                f"is named differently. Add prompts that name it other ways: "
                f"{subject.suggestions()}.",
                subject.lines,
            )
        )
