"""The rule for a dropped `<run>/probes.jsonl`: which blob it is, and how it is checked.

It lives with the drop handler that meets it first; the evaluation reads the checked file
through `check_probes` too, so both apply one rule.
"""

from __future__ import annotations

from typing import Any

from shared.pipeline.services import Services
from shared.runs.names import run_name_problem

PROBES_FILE = "probes.jsonl"
MAX_PROBES_BYTES = 4 * 1024 * 1024


def is_probes_blob(blob_name: str) -> bool:
    """True for `<run>/probes.jsonl` with a valid run name."""
    folder, _, file_name = blob_name.partition("/")
    return file_name == PROBES_FILE and run_name_problem(folder) is None


def check_probes(
    services: Services, blob_name: str, model: str | None = None
) -> tuple[dict[str, Any], bytes] | None:
    """Validates a probes.jsonl like the other run files (line by line, with the same rules)
    but with no minimum number of examples, and writes its report next to theirs. Returns the
    report and the content, or None when the blob is gone."""
    from shared.validation import validate_dataset  # the tokenizer loads only when needed

    info = services.inbox.info(blob_name)
    if info is None:
        return None
    report_name = f"{blob_name}.report.json"
    if info.size > MAX_PROBES_BYTES:
        message = f"{PROBES_FILE} is {info.size} bytes; probes may take at most {MAX_PROBES_BYTES}"
        problem = {"file": PROBES_FILE, "line": None, "code": "file_too_large", "message": message}
        data: dict[str, Any] = {"valid": False, "errors": [problem], "warnings": []}
        services.reports.write(report_name, data)
        return data, b""
    content = b"".join(services.inbox.chunks(blob_name, info.etag))
    options = {"model": model} if model else {}
    data = validate_dataset([content], training_name=PROBES_FILE, **options).to_dict()
    data["errors"] = [e for e in data["errors"] if e["code"] != "too_few_examples"]
    data["valid"] = not data["errors"]
    services.reports.write(report_name, data)
    return data, content
