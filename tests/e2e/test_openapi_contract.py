"""The OpenAPI document proven by an independent tool: schemathesis generates requests from it
and sends them to the live local host (its own process on Azurite and the emulator, free ports).
Every answer must have a documented status and content type, match its schema, and never be a
5xx; a request the document calls invalid must be refused, one without the key must get 401,
and a method a path does not take must get 405 with `Allow`. (Not checked: that every request
the schema allows is accepted, since an opaque continuation token or a run's state can refuse
a well-formed one.) A run named like the document's example ("kitsune") exists and is deployed,
so the examples reach real runs, not only 404s. `SCHEMATHESIS_MAX_EXAMPLES` bounds the run time
(default 12 per operation, about a minute on 2 cores)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.fault_helpers import drop_sample, wait_for_state
from tests.e2e.stack import FUNCTION_KEY, Stack

pytestmark = pytest.mark.e2e

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "negative_data_rejection",
    "ignored_auth",
    "missing_required_header",
)


def test_schemathesis_finds_every_answer_of_the_live_host_as_documented(
    make_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    stack = make_stack()
    drop_sample(stack, "kitsune")
    wait_for_state(stack, "kitsune", "deployed", timeout=90)
    examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12")
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{stack.host.url}/api/openapi.json",
        "--checks", ",".join(CHECKS), "--max-examples", examples, "--workers", "1",
        "--seed", "1", "--header", f"x-functions-key: {FUNCTION_KEY}",
        "--request-timeout", "30", "--phases", "examples,coverage,fuzzing",
        "--suppress-health-check", "all", "--no-color",
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    print(result.stdout)
    assert result.returncode == 0, f"{report}\n--- host log ---\n{stack.host.log()[-3000:]}"
