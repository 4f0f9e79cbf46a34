"""The README's first command: `python -m localdev demo` runs Tunedrop's main job end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from localdev.azurite import REPO_ROOT, free_port


def test_demo_trains_deploys_and_the_model_answers_with_the_trained_reply(tmp_path: Path) -> None:
    ports = {
        name: str(free_port())
        for name in (
            "LOCALDEV_HOST_PORT",
            "LOCALDEV_AZURITE_BLOB_PORT",
            "LOCALDEV_AZURITE_QUEUE_PORT",
            "LOCALDEV_AZURITE_TABLE_PORT",
            "LOCALDEV_EMULATOR_PORT",
            "LOCALDEV_EMULATOR_ARM_PORT",
        )
    }
    result = subprocess.run(
        [sys.executable, "-m", "localdev", "demo"],
        cwd=REPO_ROOT,
        env={**os.environ, **ports, "LOCALDEV_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    expected = json.loads((REPO_ROOT / "samples/kitsune-shopkeeper/demo.json").read_text())
    lines = result.stdout.splitlines()
    states = [line.split()[1] for line in lines if line.startswith("  ") and ":" in line[:12]]
    for state in ("waiting_for_files", "uploading", "processing_files", "queued", "deployed"):
        assert state in states, result.stdout
    fine_tuned = lines.index(next(line for line in lines if line.startswith("fine-tuned (")))
    assert lines[fine_tuned + 1].strip() == expected["expected"]
    assert any(line.startswith("base (") for line in lines)
    # The sample memorizes (training loss far under validation loss): the demo must say so.
    assert "No overfitting" not in result.stdout
    verdict = next(line for line in lines if line.startswith("  overfitting check: "))
    assert verdict.startswith("  overfitting check: overfitting: "), verdict
    assert "  what helps: train again with fewer epochs" in result.stdout
    used = next(line for line in lines if line.startswith("  hyperparameters used (asked): "))
    assert "n_epochs 3 (3), batch_size 1 (auto), learning_rate_multiplier 0.1 (auto)" in used
    assert "seed 42 (42)" in used
    assert any(line.startswith("  deployed model: ") for line in lines)
    # The evaluation follows the chat with no hands and its verdict is printed after it.
    evaluation = next(line for line in lines if line.startswith("evaluation"))
    assert lines.index(evaluation) > fine_tuned
    assert evaluation.startswith("evaluation: "), result.stdout[-3000:]
