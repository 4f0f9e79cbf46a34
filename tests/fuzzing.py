"""Which Hypothesis profile this test run uses, and how many examples a property test draws.

- `ci` (when `CI` is set): derandomized, so every CI run draws the same examples and a red run is
  a defect some change brought in, not a lottery; no example database is read or written.
- `dev` (default): random, with the example database outside the repository, so a failure found
  here or by `./dev fuzz` is tried first again on the next run until it is fixed.
- `fuzz` (`./dev fuzz`): random, `FUZZ_FACTOR` times the examples, the same database. A failing
  example it finds is a finding: write it into its test as an explicit `@example`.

`TUNEDROP_HYPOTHESIS_PROFILE` names a profile outright (`./dev fuzz` sets it).
"""

from __future__ import annotations

import os
from pathlib import Path

FUZZ_FACTOR = int(os.environ.get("TUNEDROP_FUZZ_FACTOR") or 10)
DATABASE_DIR = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tunedrop" / "hypothesis"
)


def _chosen_profile() -> str:
    named = os.environ.get("TUNEDROP_HYPOTHESIS_PROFILE")
    if named:
        return named
    in_ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return "ci" if in_ci else "dev"


PROFILE = _chosen_profile()


def examples(count: int) -> int:
    """A property test's `max_examples`: `count` in `./dev test`, more under `./dev fuzz`."""
    return count * FUZZ_FACTOR if PROFILE == "fuzz" else count
