"""The model table: prices and limits the account does not say, and tokenizers per family."""

from __future__ import annotations

import pytest

from shared.errors import InvalidInput
from shared.models import (
    BASE_MODELS,
    DEFAULT_MODEL,
    base_model,
    base_of,
    encoding_name,
    estimate_training_cost_usd,
)
from tests.validation.helpers import validate


def test_the_default_model_can_be_counted_exactly():
    assert base_model(DEFAULT_MODEL).name == DEFAULT_MODEL
    assert encoding_name(DEFAULT_MODEL) == "o200k_harmony"


def test_the_table_prices_the_documented_fine_tunable_models():
    assert set(BASE_MODELS) == {
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-2024-07-18",
        "gpt-4.1-2025-04-14",
        "gpt-4.1-mini-2025-04-14",
        "gpt-4.1-nano-2025-04-14",
    }
    assert all(model.max_example_tokens for model in BASE_MODELS.values())


def test_encodings_come_from_tiktokens_model_map_per_family():
    assert encoding_name("gpt-35-turbo-0125") == "cl100k_base"
    assert encoding_name("gpt-4o-mini-2024-07-18") == "o200k_base"
    assert encoding_name("gpt-5-2025-08-07") == "o200k_base"
    assert encoding_name("Ministral-3B") is None


def test_a_model_that_cannot_be_counted_exactly_is_refused_by_name():
    with pytest.raises(InvalidInput) as raised:
        base_model("gpt-35-turbo-0125")
    assert '"gpt-35-turbo-0125" uses cl100k_base' in str(raised.value)
    with pytest.raises(InvalidInput, match="tokenizer tiktoken does not know"):
        base_model("Llama-3.3-70B-Instruct")


def test_a_fine_tuned_model_counts_and_prices_as_its_base():
    tuned = "gpt-4.1-mini-2025-04-14.ft-0123456789abcdef"
    assert base_of(tuned) == "gpt-4.1-mini-2025-04-14"
    assert encoding_name(tuned) == "o200k_base"
    rules = base_model(tuned)
    assert rules.name == tuned and rules.max_example_tokens == 65_536 and rules.known
    assert rules.training_usd_per_million_tokens == 5.00


def test_an_unpriced_model_gets_a_report_with_an_unknown_cost_and_a_warning():
    lines = b"".join(
        b'{"messages": [{"role": "user", "content": "q%d"}, '
        b'{"role": "assistant", "content": "a%d"}]}\n' % (i, i)
        for i in range(12)
    )
    report = validate(lines, model="gpt-5-mini-2025-08-07")
    assert report.valid
    assert report.to_dict()["stats"]["estimated_training_cost_usd"] is None
    assert "cost_estimate_unknown" in {w.code for w in report.warnings}


def test_the_training_cost_is_tokens_times_price_per_million():
    model = base_model("gpt-4.1-mini-2025-04-14")
    assert estimate_training_cost_usd(model, 2_000_000) == pytest.approx(10.0)
    assert estimate_training_cost_usd(model, 2_000_000, price_override=2.5) == pytest.approx(5.0)
