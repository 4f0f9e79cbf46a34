"""The base-model table: one place for limits and default prices."""

from __future__ import annotations

import pytest

from shared.errors import InvalidInput
from shared.models import BASE_MODELS, DEFAULT_MODEL, base_model, estimate_training_cost_usd


def test_the_default_model_is_in_the_table():
    assert base_model(DEFAULT_MODEL).name == DEFAULT_MODEL


def test_every_fine_tunable_model_the_service_documents_is_listed():
    assert set(BASE_MODELS) == {
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-2024-07-18",
        "gpt-4.1-2025-04-14",
        "gpt-4.1-mini-2025-04-14",
        "gpt-4.1-nano-2025-04-14",
        "gpt-35-turbo-0125",
    }
    assert all(model.max_example_tokens > 0 for model in BASE_MODELS.values())


def test_an_unknown_model_names_the_known_ones():
    with pytest.raises(InvalidInput) as raised:
        base_model("gpt-4o")
    assert str(raised.value).startswith('"gpt-4o" is not a base model Tunedrop can fine-tune')
    assert "gpt-4o-2024-08-06" in str(raised.value)


def test_the_training_cost_is_tokens_times_price_per_million():
    model = base_model("gpt-4.1-mini-2025-04-14")
    assert estimate_training_cost_usd(model, 2_000_000) == pytest.approx(10.0)
    assert estimate_training_cost_usd(model, 2_000_000, price_override=2.5) == pytest.approx(5.0)
