"""The JSON Schemas (2020-12, as OpenAPI 3.1 uses) of Tunedrop's bodies and answers.

They describe what `shared.api.views`, `shared.api.chat`, `shared.health`, the validation report
and `shared.notifications.service` produce; `tests/api/test_openapi.py` checks them against real
answers and schemathesis checks them against the live host.
"""

from __future__ import annotations

from typing import Any

from shared.notifications.policy import DeliveryState
from shared.runs.states import RunState

Schema = dict[str, Any]

RUN_NAME_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
EVENT_ID_PATTERN = "^evt_[0-9a-f]{32}$"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


STRING: Schema = {"type": "string"}
TEXT: Schema = {"type": "string", "pattern": "\\S"}  # not only white space
ROLES = ("system", "user", "assistant")
TIME: Schema = {"type": "string", "format": "date-time"}
NTIME = nullable(TIME)
NSTRING = nullable(STRING)
INTEGER: Schema = {"type": "integer"}
NINTEGER = nullable(INTEGER)
NUMBER: Schema = {"type": "number"}
NNUMBER = nullable(NUMBER)
BOOLEAN: Schema = {"type": "boolean"}
STATE: Schema = {"type": "string", "enum": [state.value for state in RunState]}
AUTO_OR_NUMBER: Schema = {"anyOf": [NUMBER, {"const": "auto"}, {"type": "null"}]}

VERDICT = obj(
    ("overfitting", "reason"),
    overfitting=BOOLEAN,
    reason=STRING,
    final_valid_train_ratio=NNUMBER,
    best_valid_step=NINTEGER,
)

SCHEMAS: dict[str, Schema] = {
    "Problem": obj(
        ("type", "title", "status", "detail"),
        type=STRING,
        title=STRING,
        status=INTEGER,
        detail=STRING,
    ),
    "Health": obj(
        ("status", "version", "checks"),
        status={"type": "string", "enum": ["ok", "unhealthy"]},
        version=STRING,
        checks={"type": "object", "additionalProperties": STRING},
        problem=STRING,
    ),
    "ValidationReport": obj(
        ("valid", "errors", "warnings", "stats"),
        valid=BOOLEAN,
        errors={
            "type": "array",
            "items": obj(
                ("code", "message"), file=STRING, line=NINTEGER, code=STRING, message=STRING
            ),
        },
        warnings={
            "type": "array",
            "items": obj(
                ("code", "message"),
                file=STRING,
                code=STRING,
                message=STRING,
                lines={"type": "array", "items": INTEGER},
            ),
        },
        stats={"type": "object"},
        errors_omitted=INTEGER,
    ),
    "RunLinks": {"type": "object", "additionalProperties": STRING, "required": ["self"]},
    "RunSummary": obj(
        ("name", "state", "stalled", "created_at", "updated_at", "links"),
        name=STRING,
        state=STATE,
        stalled=BOOLEAN,
        created_at=TIME,
        updated_at=TIME,
        fine_tuned_model=NSTRING,
        deployment=NSTRING,
        links=ref("RunLinks"),
        account=NSTRING,
        deployment_account=NSTRING,
    ),
    "RunPage": obj(
        ("runs", "continuation"),
        runs={"type": "array", "items": ref("RunSummary")},
        continuation=NSTRING,
    ),
    "Verdict": VERDICT,
    "Run": obj(
        (
            "name",
            "state",
            "stalled",
            "cancel_requested",
            "created_at",
            "updated_at",
            "timeline",
            "files",
            "config",
            "job",
            "deployment",
            "links",
        ),
        name=STRING,
        state=STATE,
        stalled=BOOLEAN,
        cancel_requested=BOOLEAN,
        failure_reason=NSTRING,
        account=NSTRING,
        created_at=TIME,
        updated_at=TIME,
        last_progress_at=TIME,
        timeline={
            "type": "array",
            "items": obj(
                ("at", "from", "to", "reason"),
                at=TIME,
                to=STATE,
                reason=STRING,
                **{"from": nullable(STATE)},
            ),
        },
        files={
            "type": "object",
            "additionalProperties": obj(
                ("valid", "summary"),
                valid=BOOLEAN,
                summary=STRING,
                checked_at=TIME,
                report=STRING,
                report_url=NSTRING,
            ),
        },
        ignored_changes={"type": "array", "items": obj(at=TIME, file=STRING, reason=STRING)},
        uploads={
            "type": "object",
            "additionalProperties": obj(file_id=STRING, status=STRING, error=NSTRING),
        },
        config=nullable(
            obj(
                model=STRING,
                suffix=NSTRING,
                seed=NINTEGER,
                hyperparameters=obj(
                    n_epochs=AUTO_OR_NUMBER,
                    batch_size=AUTO_OR_NUMBER,
                    learning_rate_multiplier=AUTO_OR_NUMBER,
                ),
                deploy=obj(
                    enabled=BOOLEAN, name=NSTRING, sku=STRING, capacity=INTEGER, ttl_hours=NUMBER
                ),
                training_type={"enum": ["standard", "global", "developer"]},
            )
        ),
        job=nullable(
            obj(
                ("id", "status"),
                id=STRING,
                status=STRING,
                created_at=NTIME,
                fine_tuned_model=NSTRING,
                trained_tokens=NINTEGER,
                error=NSTRING,
                events={"type": "array", "items": obj(at=TIME, level=STRING, message=STRING)},
                checkpoints={
                    "type": "array",
                    "items": obj(step=INTEGER, model=STRING, metrics={"type": "object"}),
                },
            )
        ),
        trained_tokens=NINTEGER,
        cost_estimate_usd=NNUMBER,
        metrics=nullable({"type": "object"}),
        overfitting=nullable(ref("Verdict")),
        deployment=nullable(
            obj(
                ("name", "state"),
                name=STRING,
                state=STRING,
                model=NSTRING,
                sku=STRING,
                capacity=INTEGER,
                ttl_hours=NUMBER,
                requested_at=NTIME,
                serving_at=NTIME,
                expires_at=NTIME,
                deleted_at=NTIME,
                teardown_requested=BOOLEAN,
                created_by_tunedrop=BOOLEAN,
                error={
                    **NSTRING,
                    "description": "Why the deployment failed or vanished; the run is then "
                    "expired and POST /runs/{run}/deploy deploys its model again.",
                },
                checked_at=NTIME,
                account={
                    **NSTRING,
                    "description": "The pool account the deployment is on: the run's own, or "
                    "another one when DEPLOY_ACROSS_ACCOUNTS deployed it where there was room.",
                },
            )
        ),
        retry=nullable(obj(step=STRING, attempts=INTEGER, next_attempt_at=TIME, last_error=STRING)),
        evaluation=nullable(ref("EvaluationSummary")),
        links=ref("RunLinks"),
        lineage=nullable(ref("Lineage")),
        model_warnings={"type": "array", "items": STRING},
        waiting=nullable(
            {
                **obj(
                    ("for", "since", "reason"),
                    since=TIME,
                    reason=STRING,
                    refusals=INTEGER,
                    **{"for": {"enum": ["training", "deployment"]}},
                ),
                "description": "Set while the run waits for room on the shared Azure OpenAI "
                'account; "reason" says for what and how many runs are ahead, e.g. "waiting '
                'for a deployment slot: 10 of 10 in use, 2 runs ahead".',
            }
        ),
    ),
    "Metrics": obj(
        ("run", "state", "points", "epoch_steps"),
        run=STRING,
        state=STATE,
        points={"type": "array", "items": obj(("step",), step=INTEGER)},
        epoch_steps={"type": "array", "items": INTEGER},
        summary=nullable({"type": "object"}),
        overfitting=nullable(ref("Verdict")),
    ),
    "DeployRequest": {
        **obj(
            name=nullable({"type": "string", "pattern": "^[A-Za-z0-9._-]{2,64}$"}),
            sku=nullable({"enum": ["Standard", "GlobalStandard", "DeveloperTier"]}),
            capacity=nullable({"type": "integer", "minimum": 1, "maximum": 1000}),
            ttl_hours=nullable({"type": "number", "exclusiveMinimum": 0, "maximum": 8760}),
        ),
        "description": "Each field defaults to the run's run.json, then the app settings; "
        "null is the same as leaving the field out.",
        "additionalProperties": False,
    },
    "ChatRequest": {
        "type": "object",
        "description": 'Either "message" (one user message) or "messages"; the last message '
        'must not be the assistant\'s. "max_tokens" above MAX_CHAT_TOKENS is lowered to it.',
        "additionalProperties": False,
        "oneOf": [{"required": ["message"]}, {"required": ["messages"]}],
        "properties": {
            "message": TEXT,
            "messages": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100,
                "items": {
                    **obj(("role", "content"), content=TEXT, role={"enum": list(ROLES)}),
                    "additionalProperties": False,
                },
            },
            "compare": BOOLEAN,
            "max_tokens": {"type": "integer", "minimum": 1},
        },
    },
    "ChatAnswer": obj(
        ("reply", "model", "deployment", "usage"),
        reply=STRING,
        model=STRING,
        deployment=STRING,
        usage={"type": "object", "additionalProperties": INTEGER},
        base_reply=NSTRING,
        base_model=NSTRING,
    ),
    "Delivery": obj(
        ("endpoint", "state", "attempts", "last_status", "next_attempt_at"),
        endpoint=STRING,
        state={"type": "string", "enum": [state.value for state in DeliveryState]},
        attempts=INTEGER,
        last_status=NINTEGER,
        last_error=NSTRING,
        next_attempt_at=NTIME,
        updated_at=NTIME,
    ),
    "EventData": obj(
        ("run", "state", "previous_state", "sequence", "reason"),
        run=STRING,
        state=STATE,
        previous_state=nullable(STATE),
        sequence={"type": "integer", "minimum": 1},
        reason=STRING,
        fine_tuned_model=NSTRING,
        failure_reason=NSTRING,
        deployment=obj(
            ("name", "model", "expires_at"),
            name=STRING,
            model=NSTRING,
            expires_at=NTIME,
            account=NSTRING,
        ),
    ),
    "Event": obj(
        ("id", "type", "time", "data"),
        id={"type": "string", "pattern": EVENT_ID_PATTERN},
        type={"type": "string", "pattern": "^tunedrop\\.run\\."},
        time=TIME,
        data=ref("EventData"),
    ),
    "RunEvent": obj(
        ("id", "type", "sequence", "time", "payload", "deliveries"),
        id={"type": "string", "pattern": EVENT_ID_PATTERN},
        type=STRING,
        sequence=INTEGER,
        time=TIME,
        payload=ref("Event"),
        deliveries={"type": "array", "items": ref("Delivery")},
    ),
    "RunEvents": obj(
        ("run", "events"), run=STRING, events={"type": "array", "items": ref("RunEvent")}
    ),
    # The evaluation of a deployed run (shared.evaluation; the README's Evaluation).
    "EvaluationSummary": obj(
        ("status", "attempt"),
        status={"enum": ["requested", "evaluating", "evaluated", "skipped"]},
        attempt=INTEGER,
        changed_at=TIME,
        verdict=NSTRING,
        headline=NSTRING,
        action=NSTRING,
        scores={"type": "array", "items": ref("EvaluationScore")},
        progress=STRING,
        estimated_tokens=INTEGER,
        estimated_cost_usd=NNUMBER,
        reason=STRING,
        report=NSTRING,
    ),
    "EvaluationScore": obj(
        ("set", "model", "items", "passed", "failed", "errors", "skipped"),
        set={"enum": ["trained", "paraphrased", "validation"]},
        model={"enum": ["tuned", "base"]},
        items=INTEGER,
        passed=INTEGER,
        failed=INTEGER,
        errors=INTEGER,
        skipped=INTEGER,
        unjudged=INTEGER,
        judged=INTEGER,
        pass_rate=NNUMBER,
        chrf_mean=NNUMBER,
        verbatim=INTEGER,
    ),
    "Evaluation": obj(
        ("evaluation", "run", "attempt", "status", "judge", "scores", "items"),
        evaluation=ref("EvaluationSummary"),
        markdown=STRING,
        run=STRING,
        attempt=INTEGER,
        status={"enum": ["running", "done"]},
        judge=BOOLEAN,
        probe_source=STRING,
        calls=INTEGER,
        scores={"type": "array", "items": ref("EvaluationScore")},
        items={
            "type": "array",
            "items": obj(
                ("id", "set", "messages", "reference", "results", "outcomes"),
                id=STRING,
                set={"enum": ["trained", "paraphrased", "validation"]},
                messages={"type": "array", "items": obj(("role", "content"))},
                reference=STRING,
                origin=STRING,
                variation=STRING,
                results={"type": "object"},
                outcomes={
                    "type": "object",
                    "additionalProperties": {
                        "enum": ["pass", "fail", "error", "unjudged", "skipped"]
                    },
                },
            ),
        },
        verdict=obj(
            ("verdict", "headline", "action"), verdict=STRING, headline=STRING, action=STRING
        ),
        lineage=nullable(ref("Lineage")),
    ),
    "OpenApiDocument": obj(("openapi", "info", "paths"), openapi=STRING),
    "EndpointEnabled": obj(
        ("endpoint", "enabled", "was_disabled", "enabled_at"),
        endpoint={"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,39}$"},
        enabled={"const": True},
        was_disabled=NSTRING,
        enabled_at=TIME,
    ),
    "ImproveRequest": {
        **obj(
            start=BOOLEAN,
            max_usd={"type": "number", "minimum": 0, "maximum": 100000},
        ),
        "additionalProperties": False,
        "description": "start: drop the child run into the inbox (default false: only write its "
        "files); max_usd: the cap for this request (default run.json improve.max_usd, then "
        "IMPROVE_MAX_USD).",
    },
    "ImprovementChild": obj(
        ("run", "status"),
        run=STRING,
        parent=STRING,
        parent_attempt=INTEGER,
        status={"enum": ["written", "started"]},
        new_phrasings=INTEGER,
        estimated_training_cost_usd=NNUMBER,
        billable_training_tokens=NINTEGER,
        changes={"type": "array", "items": STRING},
        refused=STRING,
        how_to_start=STRING,
        files={"type": "object", "additionalProperties": STRING},
    ),
    "Improvement": obj(("improvement",), improvement=ref("ImprovementChild")),
    "Lineage": obj(
        parent=STRING,
        children={"type": "array", "items": ref("ImprovementChild")},
        comparison=obj(
            ("sets", "failed_to_passed", "passed_to_failed"),
            parent_verdict=NSTRING,
            child_verdict=NSTRING,
            sets={
                "type": "array",
                "items": obj(
                    ("set", "before", "after"),
                    set=STRING,
                    before=NNUMBER,
                    after=NNUMBER,
                    before_text=STRING,
                    after_text=STRING,
                ),
            },
            failed_to_passed={"type": "array", "items": {"type": "object"}},
            passed_to_failed={"type": "array", "items": {"type": "object"}},
        ),
    ),
}
