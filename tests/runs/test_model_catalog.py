"""What Tunedrop decides from the account's model list (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.model_catalog import CatalogModel, admit, inference_retirement_due

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def entry(model_id: str, fine_tunable: bool = True, **dates: datetime) -> CatalogModel:
    return CatalogModel(model_id, fine_tunable, "generally-available", **dates)


def test_an_api_model_is_read_with_its_dates_and_capabilities() -> None:
    found = CatalogModel.from_api(
        {
            "id": "gpt-4.1-mini-2025-04-14",
            "capabilities": {"fine_tune": True, "inference": False},
            "lifecycle_status": "generally-available",
            "deprecation": {"fine_tune": 1807660800, "inference": 1791936000},
        }
    )
    assert found.fine_tunable
    assert found.fine_tune_retires_at == datetime(2027, 4, 14, tzinfo=UTC)
    assert found.inference_retires_at == datetime(2026, 10, 14, tzinfo=UTC)
    assert CatalogModel.from_api({"id": "x"}).fine_tunable is False


def test_a_model_the_account_cannot_fine_tune_is_refused_naming_those_it_can() -> None:
    tuned = CatalogModel("a.ft-1", True, base="a")  # named by its base, not listed itself
    catalog = [entry("a"), entry("b", fine_tunable=False), entry("c"), tuned]
    assert admit("b", catalog, NOW).refusal == (
        "this Azure OpenAI account lists, but cannot fine-tune now, the model 'b'; it can "
        'fine-tune: a, c. Name one as "model" in run.json.'
    )
    assert "does not list the model 'z'" in (admit("z", catalog, NOW).refusal or "")
    assert "none (ask" in (admit("z", [], NOW).refusal or "")


def test_fine_tuning_that_retires_within_30_days_is_a_warning_not_a_refusal() -> None:
    soon = entry("a", fine_tune_retires_at=NOW + timedelta(days=29))
    later = entry("a", fine_tune_retires_at=NOW + timedelta(days=31))
    admitted = admit("a", [soon, entry("b")], NOW)
    assert admitted.refusal is None
    assert admitted.warnings == (
        "fine-tuning of a retires on 2027-01-04 (the account says); plan a move to another "
        "model: b",
    )
    assert admit("a", [later], NOW).warnings == ()


def test_a_deployed_model_is_due_a_warning_30_days_before_it_stops_answering() -> None:
    retires = NOW + timedelta(days=30)
    catalog = [entry("m.ft-1", fine_tunable=False, inference_retires_at=retires)]
    assert inference_retirement_due("m.ft-1", catalog, NOW) == retires
    assert inference_retirement_due("m.ft-1", catalog, NOW - timedelta(days=1)) is None
    assert inference_retirement_due("unknown", catalog, NOW) is None
