"""`python -m shared.validation TRAIN [--validation VAL] [--model M] [--epochs N] [--format F]`.

Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage error or unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

from shared.errors import InvalidInput
from shared.models import BASE_MODELS, DEFAULT_MODEL
from shared.validation import ValidationReport, read_chunks, validate_dataset

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared.validation",
        description="Check a chat fine-tuning JSONL file before paying for training.",
        epilog="Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage error.",
    )
    parser.add_argument("training", type=Path, metavar="TRAIN", help="training JSONL file")
    parser.add_argument("--validation", type=Path, metavar="VAL", help="validation JSONL file")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="MODEL",
        help=f"model to fine-tune (default {DEFAULT_MODEL}; "
        f"priced: {', '.join(sorted(BASE_MODELS))})",
    )
    parser.add_argument(
        "--epochs", type=int, help="epochs for the cost estimate (default: the service's auto rule)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _chunks(
    handle_stack: ExitStack, path: Path, parser: argparse.ArgumentParser
) -> Iterator[bytes]:
    try:
        handle = handle_stack.enter_context(path.open("rb"))
    except OSError as exc:
        parser.exit(EXIT_USAGE, f"error: cannot read {path}: {exc.strerror or exc}\n")
    return _reading(handle, path, parser)


def _reading(handle: object, path: Path, parser: argparse.ArgumentParser) -> Iterator[bytes]:
    try:
        yield from read_chunks(handle)  # type: ignore[arg-type]
    except OSError as exc:
        parser.exit(EXIT_USAGE, f"error: cannot read {path}: {exc.strerror or exc}\n")


def render_text(report: ValidationReport) -> str:
    """The report as lines a person reads: verdict, one line per finding, then the figures."""
    stats = report.stats.to_dict()
    lines = [f"{'VALID' if report.valid else 'INVALID'}: {len(report.errors)} error(s) listed"]
    if report.errors_omitted:
        lines[0] += f", {report.errors_omitted} more not listed"
    lines[0] += f", {len(report.warnings)} warning(s)"
    for error in report.errors:
        lines.append(f"error   {error.file}: [{error.code}] {error.message}")
    for warning in report.warnings:
        where = f" (lines {', '.join(map(str, warning.lines))})" if warning.lines else ""
        lines.append(f"warning {warning.file}: [{warning.code}] {warning.message}{where}")
    for name, figures in stats["files"].items():
        per_example = figures["tokens_per_example"]
        lines.append(
            f"{name}: {figures['examples']} examples, {figures['messages']} messages, "
            f"{figures['tokens']:,} tokens (per example min {per_example['min']}, mean "
            f"{per_example['mean']}, max {per_example['max']}), "
            f"{figures['assistant_tokens']:,} assistant tokens"
        )
    cost = stats["estimated_training_cost_usd"]
    priced = (
        f"about ${cost:.2f} at ${stats['training_usd_per_million_tokens']:g} per million tokens"
        if cost is not None
        else "cost unknown (the model is not in the price table)"
    )
    lines.append(
        f"training on {stats['model']}: {stats['epochs']} epochs ({stats['epochs_rule']}), "
        f"{stats['billable_training_tokens']:,} billable tokens, {priced}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    for path in (args.training, args.validation):
        if path is not None and not path.is_file():
            parser.exit(EXIT_USAGE, f"error: {path} is not a readable file\n")
    with ExitStack() as stack:
        training = _chunks(stack, args.training, parser)
        validation = _chunks(stack, args.validation, parser) if args.validation else None
        try:
            report = validate_dataset(
                training,
                validation,
                model=args.model,
                epochs=args.epochs,
                training_name=args.training.name,
                validation_name=args.validation.name if args.validation else "validation.jsonl",
            )
        except InvalidInput as exc:
            parser.exit(EXIT_USAGE, f"error: {exc}\n")
    if args.format == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    return EXIT_VALID if report.valid else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
