"""Run names and inbox blob paths.

A run is one folder of the inbox container::

    <run>/train.jsonl        required: the training examples
    <run>/validation.jsonl   optional: the validation examples
    <run>/run.json           optional: model, hyperparameters, deployment (see `config`)

A run name is 1 to 63 characters of lowercase ASCII letters, digits and dashes, starting and ending
with a letter or digit (`support-bot-v2`), like a container name. That set is safe in blob
paths, Table Storage keys, URLs and Azure resource names without escaping; the derived deployment
name `tunedrop-<run>` is cut to Azure's 64 characters. Anything else in the container is not
a run file and is ignored with a reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from shared.errors import InvalidInput

MAX_RUN_NAME = 63
RUN_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Azure OpenAI deployment names: 2-64 letters, digits, "-", "_", "."; the prefix marks ours.
DEPLOYMENT_PREFIX = "tunedrop-"
MAX_BLOB_NAME = 1024


class FileKind(StrEnum):
    """The files a run folder may hold; the value is the file name in the folder."""

    TRAIN = "train.jsonl"
    VALIDATION = "validation.jsonl"
    CONFIG = "run.json"


@dataclass(frozen=True)
class InboxPath:
    """A blob path that names a run file: `<run>/<kind>`."""

    run: str
    kind: FileKind

    @property
    def blob_name(self) -> str:
        return f"{self.run}/{self.kind.value}"

    @property
    def report_name(self) -> str:
        """Where the file's report goes in the reports container."""
        return f"{self.blob_name}.report.json"


def check_run_name(name: str) -> str:
    """Returns `name` if valid; raises `InvalidInput` saying which rule it breaks."""
    problem = run_name_problem(name)
    if problem:
        raise InvalidInput(problem)
    return name


def run_name_problem(name: str) -> str | None:
    """Why `name` is not a valid run name, as a sentence; None when it is valid."""
    shown = _shown(name)
    if not name:
        return "the run name is empty: put the files in a folder named after the run"
    if len(name) > MAX_RUN_NAME:
        return f"run name {shown} is {len(name)} characters long; the limit is {MAX_RUN_NAME}"
    if not name.isascii() or not RUN_NAME.match(name):
        if name.lower() != name and RUN_NAME.match(name.lower()):
            return f"run name {shown} has uppercase letters; use lowercase ({name.lower()!r})"
        if name.startswith("-") or name.endswith("-"):
            return f"run name {shown} must start and end with a letter or digit"
        return (
            f"run name {shown} may only hold lowercase letters a-z, digits and dashes "
            "(1 to 63 characters, starting and ending with a letter or digit)"
        )
    return None


def parse_inbox_path(blob_name: str) -> InboxPath:
    """Splits an inbox blob name into its run and file kind.

    Raises `InvalidInput` with the reason for anything that is not exactly `<run>/<kind>`:
    path tricks (`..`, `.`, empty segments, backslashes, nested folders), control or unusual
    Unicode characters, files outside a folder, unknown file names and bad run names.
    """
    folder, kind = split_inbox_path(blob_name)
    return InboxPath(check_run_name(folder), kind)


def split_inbox_path(blob_name: str) -> tuple[str, FileKind]:
    """`parse_inbox_path` without the run name rules: the folder and the file kind."""
    shown = _shown(blob_name)
    if not blob_name:
        raise InvalidInput("the blob name is empty")
    if len(blob_name) > MAX_BLOB_NAME:
        raise InvalidInput(f"blob name is {len(blob_name)} characters long; not a run file")
    if "\\" in blob_name:
        raise InvalidInput(f"blob {shown} contains a backslash; run files are <run>/<file>")
    if any(unicodedata.category(char).startswith("C") for char in blob_name):
        raise InvalidInput(f"blob {shown} contains control or invisible characters")
    if unicodedata.normalize("NFC", blob_name) != blob_name:
        raise InvalidInput(f"blob {shown} is not in Unicode normal form NFC")
    parts = blob_name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidInput(f"blob {shown} has an empty, '.' or '..' path segment")
    if len(parts) == 1:
        raise InvalidInput(f"blob {shown} is not in a run folder; drop files as <run>/train.jsonl")
    if len(parts) > 2:
        raise InvalidInput(f"blob {shown} is in a nested folder; a run is one folder deep")
    folder, file_name = parts
    try:
        kind = FileKind(file_name)
    except ValueError:
        known = ", ".join(kind.value for kind in FileKind)
        raise InvalidInput(
            f"blob {shown}: {file_name!r} is not a run file (expected one of {known})"
        ) from None
    return folder, kind


def deployment_name_for(run: str) -> str:
    """The deployment name Tunedrop derives for a run that names none: `tunedrop-<run>`."""
    return f"{DEPLOYMENT_PREFIX}{run}"[:64].rstrip("-")


def _shown(text: str) -> str:
    """A short, printable rendering of a name for messages (repr escapes control characters)."""
    return repr(text if len(text) <= 80 else text[:77] + "...")
