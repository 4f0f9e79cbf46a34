"""The README's first command: `python -m localdev demo` runs Tunedrop's main job end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from localdev.azurite import REPO_ROOT, free_port


def test_demo_tells_the_story_from_one_phrasing_to_a_child_that_generalizes(tmp_path: Path) -> None:
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
    expected = json.loads((REPO_ROOT / "samples/yoshitaka-one-phrasing/demo.json").read_text())
    lines = result.stdout.splitlines()
    states = [line.split()[1] for line in lines if line.startswith("  ") and ":" in line[:12]]
    for state in ("waiting_for_files", "uploading", "processing_files", "queued", "deployed"):
        assert states.count(state) >= 2, result.stdout  # the parent's and the child's
    # The parent, asked with the subject's nickname, has no answer; the child has it.
    replies = [
        lines[i + 1].strip() for i, line in enumerate(lines) if line.startswith("fine-tuned (")
    ]
    assert len(replies) == 2 and replies[0] != expected["expected"], replies
    assert replies[1] == expected["expected"]
    assert any(line.startswith("base (") for line in lines)
    used = next(line for line in lines if line.startswith("  hyperparameters used (asked): "))
    assert "n_epochs 3 (3), batch_size 1 (auto), learning_rate_multiplier 0.1 (auto)" in used
    assert "seed 7 (7)" in used
    assert any(line.startswith("  deployed model: ") for line in lines)
    # The verdicts in order: the parent learned one phrasing, the improvement, the child.
    verdicts = [line for line in lines if line.startswith("evaluation: ")]
    assert verdicts[0].startswith("evaluation: learned the trained phrasings only: ")
    assert verdicts[1].startswith("evaluation: generalizes: ")
    written = next(line for line in lines if line.startswith("improvement written: "))
    assert "new phrasings of the training questions for child run yoshitaka-" in written
    assert lines.index(verdicts[0]) < lines.index(written) < lines.index(verdicts[1])
    before_after = lines[lines.index(
        "before/after (learned the trained phrasings only -> generalizes):") + 1]  # fmt: skip
    assert before_after.startswith("  trained ") and "paraphrased " in before_after
    assert "flipped to pass, 0 to fail" in before_after
    # The host's log went to the file it names, not into the story.
    log_line = next(line for line in lines if line.startswith("The host's log: "))
    log_path = Path(log_line.split(": ", 1)[1].split(" (")[0])
    assert log_path.parent == tmp_path and " INFO " in log_path.read_text()
    assert not [line for line in lines + result.stderr.splitlines() if " INFO " in line]
