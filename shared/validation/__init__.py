"""Training-data validation: every rule the service applies and the risks it does not catch.

Pure: takes byte chunks, returns a `ValidationReport`. No storage, network or environment access.
"""

from shared.validation.reader import read_chunks
from shared.validation.report import (
    DatasetWarning,
    FileStats,
    Finding,
    TrainingEstimate,
    ValidationReport,
    ValidationStats,
)
from shared.validation.validator import MAX_UPLOAD_BYTES, auto_epochs, validate_dataset

__all__ = [
    "MAX_UPLOAD_BYTES",
    "DatasetWarning",
    "FileStats",
    "Finding",
    "TrainingEstimate",
    "ValidationReport",
    "ValidationStats",
    "auto_epochs",
    "read_chunks",
    "validate_dataset",
]
