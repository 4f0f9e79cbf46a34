"""run.json: defaults, every field's rule, and every problem reported at once."""

from __future__ import annotations

import json

import pytest

from shared.errors import InvalidRunConfig
from shared.runs.config import (
    AUTO,
    DeployConfig,
    RunConfig,
    RunDefaults,
    parse_deploy_options,
    parse_run_config,
)

DEFAULTS = RunDefaults("gpt-4o-mini-2024-07-18", "GlobalStandard", 2, 12.0)


def parse(data) -> RunConfig:
    return parse_run_config(json.dumps(data).encode(), DEFAULTS)


def problems(raw) -> list[str]:
    raw = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    with pytest.raises(InvalidRunConfig) as caught:
        parse_run_config(raw, DEFAULTS)
    return caught.value.problems


def test_an_empty_object_takes_every_default_from_the_settings():
    config = parse({})
    assert config == RunConfig(
        model="gpt-4o-mini-2024-07-18",
        deploy=DeployConfig(True, None, "GlobalStandard", 2, 12.0),
    )
    assert config.hyperparameters() == {}


def test_every_field_is_read_and_only_chosen_hyperparameters_are_sent():
    config = parse(
        {
            "model": "gpt-4o-2024-08-06",
            "suffix": "minato_v2",
            "hyperparameters": {"n_epochs": 3, "batch_size": "auto",
                                "learning_rate_multiplier": 0.5},
            "seed": 42,
            "deploy": {"enabled": False, "name": "minato", "sku": "Standard", "capacity": 5,
                       "ttl_hours": 0.5, "checkpoint": "best"},
        }
    )  # fmt: skip
    assert config.model == "gpt-4o-2024-08-06" and config.suffix == "minato_v2"
    assert config.hyperparameters() == {"n_epochs": 3, "learning_rate_multiplier": 0.5}
    assert config.batch_size == AUTO and config.seed == 42
    assert config.deploy == DeployConfig(False, "minato", "Standard", 5, 0.5, "best")
    assert RunConfig.from_dict(config.to_dict()) == config


def test_a_utf8_bom_is_accepted():
    assert parse_run_config(b"\xef\xbb\xbf{}", DEFAULTS).model == DEFAULTS.model


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model": "gpt-2"}, 'run.json: "model" cannot be counted exactly: "gpt-2" uses gpt2'),
        ({"model": "gpt-35-turbo-0125"}, '"model" cannot be counted exactly: "gpt-35-turbo-0125" '
         "uses cl100k_base"),
        ({"model": 4}, 'run.json: "model" must be a model id'),
        ({"model": "a b"}, 'run.json: "model" must be a model id'),
        ({"suffix": "has.dot"}, "run.json: \"suffix\" must be 1 to 40 letters, digits, '_' or '-'"),
        ({"from_run": "Not A Run"}, 'run.json: "from_run" must be the name of an earlier run'),
        ({"suffix": "has space"}, 'run.json: "suffix" must be 1 to 40 letters'),
        ({"suffix": "x" * 41}, 'run.json: "suffix" must be 1 to 40 letters'),
        ({"hyperparameters": []}, 'run.json: "hyperparameters" must be an object'),
        ({"hyperparameters": {"n_epochs": 0}},
         'run.json: "hyperparameters.n_epochs" must be an integer from 1 to 50 or "auto"'),
        ({"hyperparameters": {"n_epochs": 51}}, '"hyperparameters.n_epochs" must be an integer'),
        ({"hyperparameters": {"n_epochs": 2.5}}, '"hyperparameters.n_epochs" must be an integer'),
        ({"hyperparameters": {"n_epochs": True}}, '"hyperparameters.n_epochs" must be an integer'),
        ({"hyperparameters": {"n_epochs": "3"}}, '"hyperparameters.n_epochs" must be an integer'),
        ({"hyperparameters": {"batch_size": 257}},
         'run.json: "hyperparameters.batch_size" must be an integer from 1 to 256 or "auto"'),
        ({"hyperparameters": {"learning_rate_multiplier": 0}},
         '"hyperparameters.learning_rate_multiplier" must be a number greater than 0 and at most '
         '10, or "auto"'),
        ({"hyperparameters": {"learning_rate_multiplier": "fast"}},
         '"hyperparameters.learning_rate_multiplier" must be a number'),
        ({"hyperparameters": {"epochs": 3}},
         'run.json: "hyperparameters.epochs" is not a run.json field (allowed: batch_size, '
         "learning_rate_multiplier, n_epochs)"),
        ({"seed": -1}, 'run.json: "seed" must be an integer from 0 to 2147483647'),
        ({"seed": "7"}, 'run.json: "seed" must be an integer'),
        ({"deploy": "yes"}, 'run.json: "deploy" must be an object'),
        ({"deploy": {"enabled": "true"}}, 'run.json: "deploy.enabled" must be true or false'),
        ({"deploy": {"name": "a"}}, 'run.json: "deploy.name" must be 2 to 64 letters'),
        ({"deploy": {"name": "-bad"}}, 'run.json: "deploy.name" must be 2 to 64 letters'),
        ({"deploy": {"sku": "Premium"}},
         'run.json: "deploy.sku" must be one of Standard, GlobalStandard, DeveloperTier'),
        ({"deploy": {"capacity": 0}}, 'run.json: "deploy.capacity" must be an integer from 1'),
        ({"deploy": {"ttl_hours": 0}}, 'run.json: "deploy.ttl_hours" must be a number of hours'),
        ({"deploy": {"ttl_hours": 9000}}, '"deploy.ttl_hours" must be a number of hours'),
        ({"deploy": {"region": "x"}}, 'run.json: "deploy.region" is not a run.json field'),
        ({"deploy": {"checkpoint": "lowest"}},
         'run.json: "deploy.checkpoint" must be "final" (the model the job ended with) or "best" '
         "(the kept checkpoint with the lowest validation loss)"),
        ({"deploy": {"checkpoint": ["best"]}}, 'run.json: "deploy.checkpoint" must be "final"'),
        ({"colour": "blue"}, 'run.json: "colour" is not a run.json field'),
    ],
)  # fmt: skip
def test_each_bad_field_is_named_with_its_rule(data, message):
    [problem] = problems(data)
    assert message in problem, problem


def test_every_problem_is_reported_at_once():
    found = problems(
        {"model": "gpt-2", "hyperparameters": {"n_epochs": 0, "batch_size": 0}, "seed": -1,
         "deploy": {"sku": "x", "capacity": 0}, "extra": 1}
    )  # fmt: skip
    assert [p.split('"')[1] for p in found] == [
        "extra", "model", "hyperparameters.n_epochs", "hyperparameters.batch_size", "seed",
        "deploy.sku", "deploy.capacity",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "run.json is not valid JSON: Expecting property name enclosed in double quotes "
               "at line 1 column 2"),
        (b"[]", "run.json must hold a JSON object"),
        (b"\xff{}", "run.json is not UTF-8 (byte 0)"),
        (b'{"seed": 1, "seed": 2}', 'run.json: "seed" appears more than once'),
        (b"[" * 100_000, "run.json is"),
        (b" " * (64 * 1024 + 1), "run.json is over the limit of 65536 bytes"),
    ],
)  # fmt: skip
def test_files_that_are_not_a_json_object_are_refused_with_a_reason(raw, message):
    assert problems(raw)[0].startswith(message)


def test_deploy_options_of_a_request_are_checked_over_the_runs_own():
    base = DeployConfig(True, None, "Standard", 1, 24.0)
    assert parse_deploy_options({"ttl_hours": 2}, base) == DeployConfig(
        True, None, "Standard", 1, 2.0
    )
    assert parse_deploy_options({"checkpoint": "best"}, base).checkpoint == "best"
    with pytest.raises(InvalidRunConfig) as caught:
        parse_deploy_options({"capacity": "lots", "sku": "Gold"}, base)
    assert caught.value.problems == [
        '"deploy.sku" must be one of Standard, GlobalStandard, DeveloperTier',
        '"deploy.capacity" must be an integer from 1 to 1000',
    ]


def test_a_model_the_table_does_not_price_and_a_fine_tuned_model_are_accepted():
    # Whether the account can fine-tune them is asked when the run starts.
    assert parse({"model": "gpt-5-mini-2025-08-07"}).model == "gpt-5-mini-2025-08-07"
    tuned = "gpt-4.1-mini-2025-04-14.ft-0123456789abcdef"
    assert parse({"model": tuned, "from_run": "minato-v1"}).from_run == "minato-v1"


def test_a_developer_tier_deployment_kept_over_24_hours_is_a_warning():
    from shared.runs.config import config_warnings

    long = parse({"deploy": {"sku": "DeveloperTier", "ttl_hours": 48}})
    assert config_warnings(long) == [
        'run.json: "deploy.ttl_hours" is 48, but a DeveloperTier deployment is deleted by the '
        "service after 24 hours (it has no hosting fee and no SLA); the model stays and can be "
        "deployed again"
    ]
    assert config_warnings(parse({"deploy": {"sku": "DeveloperTier", "ttl_hours": 24}})) == []
    assert config_warnings(parse({"deploy": {"sku": "Standard", "ttl_hours": 48}})) == []


def test_training_type_defaults_to_the_setting_and_names_a_bad_value():
    from shared.errors import InvalidRunConfig as Invalid
    from shared.runs.config import RunDefaults as Defaults
    from shared.runs.config import parse_run_config as parse

    defaults = Defaults("gpt-4o-mini-2024-07-18", training_type="global")
    assert parse(b"{}", defaults).training_type == "global"
    assert parse(b'{"training_type": "developer"}', defaults).training_type == "developer"
    with pytest.raises(Invalid) as caught:
        parse(b'{"training_type": "turbo"}', defaults)
    assert caught.value.problems == [
        'run.json: "training_type" must be one of standard, global, developer'
    ]
