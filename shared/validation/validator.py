"""`validate_dataset`: streams the training (and validation) JSONL through every rule.

Per file: split lines (`reader`), decode and parse each line, check it (`example_rules`), count
its tokens in worker threads (`token_pipeline`), then fold the counts in line order into the
statistics and the dataset-wide rules (`dataset_rules`). Nothing holds more than a few batches of
lines; duplicates are remembered as digests.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.errors import InvalidInput
from shared.models import REFERENCE_MODEL, BaseModel, base_model, estimate_training_cost_usd
from shared.tokens import o200k
from shared.validation.dataset_rules import FileObserver
from shared.validation.example_rules import ROLES
from shared.validation.file_check import FileCheck
from shared.validation.report import (
    DatasetWarning,
    ErrorList,
    TrainingEstimate,
    ValidationReport,
    ValidationStats,
)
from shared.validation.token_pipeline import Encode, TokenPipeline

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
"""Azure OpenAI's size limit for one fine-tuning file ("Max file size for fine-tuning: 512 MB")."""
MIN_TRAINING_EXAMPLES = 10
MAX_JOB_TOKENS = 2_000_000_000
"""Azure OpenAI's "Max training job size (tokens in training file) x (# of epochs)"."""
MIN_EPOCHS, MAX_EPOCHS = 1, 50
# The service's automatic epoch count, as OpenAI documents it in its fine-tuning data-preparation
# cookbook: 3 epochs, raised for small files to reach ~100 example passes (at most 25 epochs),
# lowered for large files to stay near 25,000 (at least 1).
AUTO_TARGET_EPOCHS, AUTO_MIN_PASSES, AUTO_MAX_PASSES, AUTO_MAX_EPOCHS = 3, 100, 25_000, 25
TOKEN_COUNTING = (
    "o200k_base; per example 3 tokens + per message (3 + role + content [+ name + 1]); "
    "tool calls and tool definitions counted as their JSON text"
)


def auto_epochs(training_examples: int) -> int:
    """The number of epochs the service picks when none is given."""
    if training_examples <= 0:
        return AUTO_TARGET_EPOCHS
    if training_examples * AUTO_TARGET_EPOCHS < AUTO_MIN_PASSES:
        return min(AUTO_MAX_EPOCHS, AUTO_MIN_PASSES // training_examples)
    if training_examples * AUTO_TARGET_EPOCHS > AUTO_MAX_PASSES:
        return max(1, AUTO_MAX_PASSES // training_examples)
    return AUTO_TARGET_EPOCHS


def validate_dataset(
    training: Iterable[bytes],
    validation: Iterable[bytes] | None = None,
    *,
    model: str = REFERENCE_MODEL,
    epochs: int | None = None,
    training_name: str = "train.jsonl",
    validation_name: str = "validation.jsonl",
    max_file_bytes: int = MAX_UPLOAD_BYTES,
    training_usd_per_million_tokens: float | None = None,
    max_job_tokens: int = MAX_JOB_TOKENS,
) -> ValidationReport:
    """Checks a chat fine-tuning dataset given as byte chunks split anywhere; never raises on data.

    `epochs=None` estimates cost with the service's automatic epoch count (see `auto_epochs`).
    `training_usd_per_million_tokens` overrides the model table's price (from the settings);
    `max_file_bytes` and `max_job_tokens` default to the service's limits.
    Raises `InvalidInput` only for a model whose tokens cannot be counted exactly or an epoch
    count outside 1-50.
    """
    chosen = base_model(model)
    if epochs is not None and not MIN_EPOCHS <= epochs <= MAX_EPOCHS:
        raise InvalidInput(f"epochs must be between {MIN_EPOCHS} and {MAX_EPOCHS}, got {epochs}.")
    encoder = o200k()
    encode: Encode = encoder.encode_ordinary
    known_tokens = {role: len(encode(role)) for role in ROLES}  # + system messages, once seen
    errors = ErrorList((training_name, validation_name))
    with TokenPipeline(encode) as pipeline:
        train = FileCheck(training_name, FileObserver(training_name), chosen, errors, encode)
        train.run(training, pipeline, known_tokens, max_file_bytes)
        files = [train]
        if validation is not None:
            observer = FileObserver(validation_name, training_prompts=train.observer.prompts)
            check = FileCheck(validation_name, observer, chosen, errors, encode)
            check.run(validation, pipeline, known_tokens, max_file_bytes)
            files.append(check)
    if 0 < train.examples < MIN_TRAINING_EXAMPLES or (train.examples == 0 and train.non_blank):
        errors.add(
            training_name,
            None,
            "too_few_examples",
            f"{training_name} has {train.examples} valid example(s); fine-tuning needs at least "
            f"{MIN_TRAINING_EXAMPLES}.",
        )
    estimate = _estimate(chosen, train, epochs, training_usd_per_million_tokens)
    if estimate.billable_training_tokens > max_job_tokens:
        errors.add(
            training_name,
            None,
            "training_job_too_large",
            f"{training_name} would train {estimate.billable_training_tokens:,} tokens "
            f"({estimate.epochs} epochs); Azure OpenAI allows at most {max_job_tokens:,} per job.",
        )
    warnings: list[DatasetWarning] = []
    for check in files:
        warnings.extend(check.observer.warnings(training_name, check is train))
    if not chosen.known:
        warnings.append(unknown_model_warning(training_name, chosen.name))
    stats = ValidationStats(tuple(check.stats() for check in files), estimate, TOKEN_COUNTING)
    listed = errors.listed()
    return ValidationReport(
        valid=errors.total == 0,
        errors=listed,
        warnings=tuple(warnings),
        stats=stats,
        errors_omitted=errors.total - len(listed),
    )


def unknown_model_warning(file: str, model: str) -> DatasetWarning:
    """A model `shared.models` does not list: its price and per-example limit are unknown."""
    return DatasetWarning(
        file,
        "cost_estimate_unknown",
        f"{model} is not in Tunedrop's price table (shared.models): the training cost estimate "
        "is unknown and the per-example token limit is left to the service to check.",
        (),
    )


def _estimate(
    model: BaseModel, train: FileCheck, epochs: int | None, price: float | None
) -> TrainingEstimate:
    if epochs is None:
        chosen_epochs = auto_epochs(train.examples)
        rule = f"auto: the service's default for {train.examples} examples"
    else:
        chosen_epochs, rule = epochs, "requested"
    effective_price = model.training_usd_per_million_tokens if price is None else price
    return TrainingEstimate(
        model=model.name,
        max_example_tokens=model.max_example_tokens,
        epochs=chosen_epochs,
        epochs_rule=rule,
        billable_tokens_per_epoch=train.tokens,
        training_usd_per_million_tokens=effective_price,
        estimated_cost_usd=estimate_training_cost_usd(model, train.tokens * chosen_epochs, price),
    )
