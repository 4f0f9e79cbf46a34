"""Secrets quoted in upstream messages never leave the API."""

from datetime import UTC, datetime

from shared.api.redact import redact, redact_text
from shared.api.views import run_view
from shared.runs.record import Run

SAS_URL = (
    "https://acct.blob.core.windows.net/inbox/r/train.jsonl?sv=2024-08-04&se=2026&sig=AbC%2Fd3f="
)


def test_sas_signatures_keys_and_tokens_are_masked_and_the_rest_kept() -> None:
    text = (
        f"import of {SAS_URL} failed; AccountKey=c2VjcmV0a2V5==;EndpointSuffix=x "
        "api-key: sk-123456 Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"
    )
    masked = redact_text(text)
    for secret in ("AbC%2Fd3f=", "c2VjcmV0a2V5==", "sk-123456", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in masked
    assert "sv=2024-08-04&se=2026&sig=***" in masked
    assert "AccountKey=***;EndpointSuffix=x" in masked
    assert masked.startswith("import of https://acct.blob.core.windows.net/inbox/r/train.jsonl?")


def test_redact_walks_nested_views_and_leaves_numbers_alone() -> None:
    data = {"a": [{"b": f"see {SAS_URL}"}], "n": 3, "ok": None}
    assert redact(data) == {
        "a": [{"b": f"see {SAS_URL.split('sig=')[0]}sig=***"}],
        "n": 3,
        "ok": None,
    }


def test_a_failure_reason_quoting_a_sas_url_is_shown_without_its_signature() -> None:
    run = Run.new("leaky", datetime(2026, 11, 24, tzinfo=UTC))
    run.fail(f"upload failed: the service could not read {SAS_URL}", run.created_at)
    view = run_view(run)
    assert "AbC%2Fd3f" not in str(view)
    assert view["failure_reason"].endswith("sig=***")
    assert view["timeline"][-1]["reason"].endswith("sig=***")
