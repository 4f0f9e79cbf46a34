"""The run page: shows the run, escapes everything from the data, loads nothing external."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from shared.api.views import run_view
from shared.render import content_security_policy, loss_chart_svg, run_page_html
from shared.runs.config import DeployConfig, RunConfig
from shared.runs.curves import LossPoint
from shared.runs.facts import DeploymentInfo, FileVerdict, JobEvent, JobInfo
from shared.runs.names import FileKind
from shared.runs.record import Run
from shared.runs.states import RunState

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EVIL = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


class Elements(HTMLParser):
    """Collects every start tag with its attributes, and the script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def deployed_run(text: str = "lighthouse keeper") -> Run:
    run = Run.new("minato", T0)
    run.config = RunConfig(model="gpt-4o-mini-2024-07-18", suffix="minato", n_epochs=3,
                           deploy=DeployConfig(name="tunedrop-minato"))  # fmt: skip
    run.files[FileKind.TRAIN] = FileVerdict("etag", True, "minato/train.jsonl.report.json",
                                            f"valid: 12 examples ({text})", T0)  # fmt: skip
    run.start(T0, run.config, "train.jsonl passed validation")
    run.job = JobInfo("ftjob-1", "succeeded", T0, fine_tuned_model="gpt-4o-mini.ft-1",
                      trained_tokens=1234,
                      events=[JobEvent("e1", T0, "info", f"Step 3/30: {text}")])  # fmt: skip
    run.deployment = DeploymentInfo("tunedrop-minato", "Standard", 1, 24.0, T0, state="Succeeded",
                                    expires_at=T0 + timedelta(hours=24))  # fmt: skip
    run.state = RunState.DEPLOYED
    run.failure_reason = text
    return run


def page(run: Run, nonce: str = "n0nce") -> str:
    points = [LossPoint(step=s, train_loss=1 / s, valid_loss=1.2 / s) for s in range(1, 10)]
    return run_page_html(run_view(run), chart_svg=loss_chart_svg(points), nonce=nonce)


def test_page_shows_state_timeline_chart_validation_and_deployment() -> None:
    html = page(deployed_run())
    assert 'id="run-state">deployed</span>' in html
    assert html.count('class="timeline-entry') == 2
    assert "new → waiting_for_files" in html and "waiting_for_files → uploading" in html
    assert "2026-11-24 12:00:00 UTC" in html
    assert '<polyline id="train-loss"' in html and '<polyline id="valid-loss"' in html
    assert "valid: 12 examples" in html and "minato/train.jsonl.report.json" in html
    assert "tunedrop-minato" in html and "2026-11-25 12:00:00 UTC" in html
    assert 'id="chat-form"' in html and 'id="chat-send"' in html


def test_page_escapes_markup_from_every_field_of_the_data() -> None:
    html = page(deployed_run(EVIL))
    parsed = Elements()
    parsed.feed(html)
    assert [tag for tag, _ in parsed.tags if tag == "img"] == []
    assert len([tag for tag, _ in parsed.tags if tag == "script"]) == 1  # the page's own
    assert all("pwned" not in script for script in parsed.scripts)
    assert all(not any(k.startswith("on") for k in attrs) for _, attrs in parsed.tags)
    assert (
        html.count("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;") == 3
    )  # reason, file, event


def test_page_script_carries_the_nonce_that_its_policy_allows() -> None:
    html = page(deployed_run(), nonce="abc123")
    assert '<script nonce="abc123">' in html
    policy = content_security_policy("abc123")
    assert "script-src 'nonce-abc123'" in policy and "default-src 'none'" in policy
    assert "connect-src 'self'" in policy


def test_page_loads_nothing_from_elsewhere() -> None:
    html = page(deployed_run())
    parsed = Elements()
    parsed.feed(html)
    for _, attrs in parsed.tags:
        assert not attrs.get("src") and not attrs.get("href"), attrs
    assert not re.search(r"https?://", html.replace("http://www.w3.org/2000/svg", ""))


def test_page_sends_the_function_key_from_its_own_address_to_the_chat_endpoint() -> None:
    html = page(deployed_run())
    assert 'URLSearchParams(window.location.search).get("code")' in html
    assert 'headers["x-functions-key"] = key' in html
    assert '.replace(/\\/view\\/?$/, "/chat")' in html


def test_chat_box_is_disabled_with_the_reason_while_the_run_is_not_deployed() -> None:
    run = Run.new("early", T0)
    html = run_page_html(run_view(run), chart_svg=loss_chart_svg([]))
    assert "Chat opens once the run is deployed; it is waiting_for_files." in html
    assert '<button type="submit" id="chat-send" disabled>' in html
    assert "No loss points yet" in html
    assert "No fine-tuning job yet." in html


def test_page_shows_the_verdict_level_and_action_the_used_hyperparameters_and_the_model_choice():
    from shared.runs.curves import Verdict

    run = deployed_run()
    assert run.job is not None and run.deployment is not None
    run.job.hyperparameters = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 0.1}
    run.job.seed = 42
    run.overfitting = Verdict(
        True, "final validation loss 0.57 is 3.0x training loss 0.19", 3.0, 30, "overfitting",
        "train again with fewer epochs",
    )  # fmt: skip
    run.deployment.checkpoint = "best"
    run.deployment.chosen_because = "the kept checkpoint of step 20 has the lowest validation loss"
    html = page(run)
    assert "<strong>Overfitting</strong>: final validation loss 0.57 is 3.0x" in html
    assert "No overfitting" not in html
    assert "Action: train again with fewer epochs" in html
    assert "<dt>batch size</dt><dd>1 (asked: auto)</dd>" in html
    assert "<dt>n epochs</dt><dd>3 (asked: 3)</dd>" in html
    assert "Why this model (best)</dt><dd>the kept checkpoint of step 20" in html
