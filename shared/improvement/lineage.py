"""A child run: its name, its run.json, whether its cost is allowed, how it compares. Pure.

A child is named after its parent with the next free `-r<n>` (`kitsune` -> `kitsune-r2`, a
child of `kitsune-r2` -> `kitsune-r3`). Its run.json keeps the parent's settings, except what
the parent's overfitting verdict advised against (fewer epochs, or the best checkpoint), and it
does not improve itself again with no hands: a person decides on a third run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from shared.evaluation.probes import question_key
from shared.runs.config import AUTO, RunConfig
from shared.runs.curves import Verdict
from shared.runs.names import MAX_RUN_NAME

_GENERATION = re.compile(r"^(?P<base>.+)-r(?P<n>[0-9]+)$")
SETS = ("trained", "paraphrased", "validation")
FLIPS = (("failed_to_passed", "failed → passed"), ("passed_to_failed", "passed → failed"))


def child_name(parent: str, taken: Callable[[str], bool]) -> str:
    """The first `<base>-r<n>` (n from 2, or from the parent's own n + 1) that `taken` says is
    free; the base is cut so the name stays within the run name limit."""
    found = _GENERATION.match(parent)
    base, number = (found["base"], int(found["n"]) + 1) if found else (parent, 2)
    while True:
        tail = f"-r{number}"
        name = base[: MAX_RUN_NAME - len(tail)].rstrip("-") + tail
        if not taken(name):
            return name
        number += 1


def child_run_json(
    config: RunConfig | None, overfitting: Verdict | None, used_epochs: int | None
) -> tuple[dict[str, Any], list[str]]:
    """The child's run.json (as a dict) and the changes made to the parent's settings, each
    as a sentence."""
    changes: list[str] = []
    if config is None:
        return {"improve": {"auto": False}}, changes
    data: dict[str, Any] = {"model": config.model}
    if config.suffix:
        data["suffix"] = config.suffix
    hyper = {
        key: value
        for key, value in (
            ("n_epochs", config.n_epochs),
            ("batch_size", config.batch_size),
            ("learning_rate_multiplier", config.learning_rate_multiplier),
        )
        if value != AUTO
    }
    deploy = config.deploy
    data["deploy"] = {
        "enabled": deploy.enabled,
        "sku": deploy.sku,
        "capacity": deploy.capacity,
        "ttl_hours": deploy.ttl_hours,
        "checkpoint": deploy.checkpoint,
    }  # the parent's deploy.name is left out: the child gets a deployment of its own
    if overfitting is not None and overfitting.level == "overfitting":
        action = overfitting.action
        if '"checkpoint": "best"' in action and deploy.checkpoint != "best":
            data["deploy"]["checkpoint"] = "best"
            changes.append('deploy.checkpoint "best": the parent overfitted past its best epoch')
        elif "fewer epochs" in action:
            epochs = hyper.get("n_epochs") if isinstance(hyper.get("n_epochs"), int) else None
            epochs = epochs or used_epochs
            advised = re.search(r"n_epochs ([0-9]+) instead", action)
            fewer = int(advised.group(1)) if advised else (epochs - 1 if epochs else None)
            if fewer and epochs and 1 <= fewer < epochs:
                hyper["n_epochs"] = fewer
                changes.append(f"n_epochs {fewer} instead of {epochs}: the parent overfitted")
    if hyper:
        data["hyperparameters"] = hyper
    if config.seed is not None:
        data["seed"] = config.seed
    data["evaluate"] = True
    data["improve"] = {"auto": False}
    return data, changes


def over_cap(estimated_usd: float | None, cap: float, where: str) -> str:
    """Why a child may not start for its estimated training cost, or "" when it may."""
    if estimated_usd is None:
        return f"its training cost could not be estimated, and the cap is ${cap:g} ({where})"
    if estimated_usd > cap:
        return (
            f"its training is estimated at ${estimated_usd:.4f}, over the cap of ${cap:g} ({where})"
        )
    return ""


def comparison(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """The child's evaluation next to its parent's: per probe set the tuned pass rates before
    and after, and the items whose tuned outcome flipped. Items are matched by their
    conversation (the child asks the parent's probes), so ids may differ."""
    before, after = _tuned_scores(parent), _tuned_scores(child)
    sets = []
    for name in SETS:
        if name not in before and name not in after:
            continue
        sets.append(
            {
                "set": name,
                "before": _rate(before.get(name)),
                "after": _rate(after.get(name)),
                "before_text": _text(before.get(name)),
                "after_text": _text(after.get(name)),
            }
        )
    parent_items = {_item_key(item): item for item in parent.get("items", [])}
    flipped: dict[str, list[dict[str, Any]]] = {"failed_to_passed": [], "passed_to_failed": []}
    for item in child.get("items", []):
        earlier = parent_items.get(_item_key(item))
        if earlier is None:
            continue
        was, now = _outcome(earlier), _outcome(item)
        row = {"question": _question(item), "set": item.get("set"), "before": was, "after": now}
        if was == "fail" and now == "pass":
            flipped["failed_to_passed"].append(row)
        elif was == "pass" and now == "fail":
            flipped["passed_to_failed"].append(row)
    return {
        "parent_verdict": (parent.get("verdict") or {}).get("verdict"),
        "child_verdict": (child.get("verdict") or {}).get("verdict"),
        "sets": sets,
        **flipped,
    }


def comparison_line(result: Mapping[str, Any]) -> str:
    """One line for people: `paraphrased 0/6 -> 6/6, trained 6/6 -> 6/6 (6 flipped to pass)`."""
    parts = [f"{row['set']} {row['before_text']} -> {row['after_text']}" for row in result["sets"]]
    gained, lost = len(result["failed_to_passed"]), len(result["passed_to_failed"])
    return f"{', '.join(parts)} ({gained} flipped to pass, {lost} to fail)"


def _tuned_scores(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {s["set"]: s for s in report.get("scores", []) if s.get("model") == "tuned"}


def _rate(score: Mapping[str, Any] | None) -> float | None:
    rate = score.get("pass_rate") if score else None
    return round(rate, 4) if isinstance(rate, int | float) else None


def _text(score: Mapping[str, Any] | None) -> str:
    return f"{score['passed']}/{score['judged']}" if score and score.get("judged") else "-"


def _outcome(item: Mapping[str, Any]) -> str:
    return str((item.get("outcomes") or {}).get("tuned") or "")


def _question(item: Mapping[str, Any]) -> str:
    users = [m["content"] for m in item.get("messages", []) if m.get("role") == "user"]
    return " → ".join(users)


def _item_key(item: Mapping[str, Any]) -> str:
    return f"{item.get('set')}:{question_key(_question(item))}"
