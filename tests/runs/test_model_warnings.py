"""What the account says about a run's model lands on the record, the run page and the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.api.views import run_view
from shared.notifications.events import event_payload
from shared.pipeline.model_admission import note_deployed_retirement
from shared.render import run_page_html
from shared.runs.codec import run_from_dict, run_to_dict
from shared.runs.facts import DeploymentInfo, JobInfo
from shared.runs.record import Run
from shared.runs.states import RunState
from tests.pipeline.data import TRAIN, VALIDATION
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop

T0 = datetime(2026, 12, 6, 12, tzinfo=UTC)
TUNED = "gpt-4.1-mini-2025-04-14.ft-abc"


def deployed() -> Run:
    run = Run.new("minato", T0)
    run.job = JobInfo("ftjob-abc", "succeeded", T0, fine_tuned_model=TUNED)
    run.deployment = DeploymentInfo("tunedrop-minato", "Standard", 1, 24.0, T0, model=TUNED,
                                    state="Succeeded", created=True)  # fmt: skip
    run.state = RunState.DEPLOYED
    return run


def test_a_retiring_deployed_model_is_noted_once_with_an_event_and_survives_a_save() -> None:
    run = deployed()
    retires = T0 + timedelta(days=12)
    run.model_retiring(TUNED, retires, T0)
    run.model_retiring(TUNED, retires, T0 + timedelta(minutes=1))

    assert run.model_warnings == [
        f"the deployed model {TUNED} retires on 2026-12-18 (the account says); after that its "
        "deployment stops answering. Train a new run on a current model."
    ]
    events = [e for e in run.raised if e.name == "model_retiring"]
    assert len(events) == 1
    payload = event_payload(run, events[0], "evt_1")
    assert payload["type"] == "tunedrop.run.model_retiring"
    assert payload["data"]["retires_at"] == "2026-12-18T12:00:00+00:00"
    loaded = run_from_dict(run_to_dict(run), "etag")
    assert loaded.model_warnings == run.model_warnings
    assert loaded.model_retirement_noted == TUNED


def test_the_run_page_and_the_api_show_the_warning_escaped() -> None:
    run = deployed()
    run.model_warned("<b>retires</b> soon", T0)
    view = run_view(run)
    assert view["model_warnings"] == ["<b>retires</b> soon"]
    html = run_page_html(view, chart_svg="", nonce="n")
    assert 'id="model-warning">&lt;b&gt;retires&lt;/b&gt; soon</p>' in html


def test_without_a_catalog_nothing_is_asked() -> None:
    assert note_deployed_retirement(deployed(), fake_services(), T0) is False


def test_a_developer_tier_deployment_kept_longer_than_24_hours_is_warned_in_the_report() -> None:
    services = fake_services()
    drop(services, "minato/run.json", b'{"deploy": {"sku": "DeveloperTier", "ttl_hours": 48}}')
    drop(services, "minato/train.jsonl", TRAIN)
    drop(services, "minato/validation.jsonl", VALIDATION)
    report = services.reports.reports["minato/run.json.report.json"]
    assert report["valid"] is True
    assert [w["code"] for w in report["warnings"]] == ["run_config_warning"]
    assert "deleted by the service after 24 hours" in report["warnings"][0]["message"]
