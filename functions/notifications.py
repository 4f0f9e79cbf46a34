"""Run events for other services: the sweeper that hands pending events to the delivery queue,
the queue-triggered delivery, the dead letters of its poison queue, the events API, and enabling
a webhook endpoint a 410 disabled.

Retries use the Functions machinery: a failed attempt enqueues the next one as a new message with
its own visibility timeout (the backoff); a delivery function that keeps failing ends, after
`maxDequeueCount` tries, in `<EVENTS_QUEUE>-poison`, which records the delivery as a dead letter.
"""

import logging
import re

import azure.functions as func

from functions.http_answers import answers_problems, json_answer
from shared import pipeline
from shared.api.requests import run_name_from_route
from shared.bootstrap import notifier, services
from shared.errors import InvalidInput
from shared.notifications import service
from shared.notifications.service import message_from
from shared.notifications.settings import ENDPOINT_NAME

logger = logging.getLogger(__name__)
EVENT_ID = re.compile(r"^evt_[0-9a-f]{32}$")

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="%EVENTS_TIMER_SCHEDULE%", run_on_startup=False)
def send_pending_events(timer: func.TimerRequest) -> None:
    handed = service.sweep(notifier())
    if handed:
        logger.info("Handed %s pending events to the delivery queue", handed)


@bp.queue_trigger(arg_name="message", queue_name="%EVENTS_QUEUE%", connection="AzureWebJobsStorage")
def deliver_event(message: func.QueueMessage) -> None:
    delivery = message_from(_json(message))
    if delivery is None:
        logger.warning("Delivery message %s is not one Tunedrop wrote; ignored", message.id)
        return
    logger.info("Delivery %s: %s", delivery, service.deliver(notifier(), delivery))


@bp.queue_trigger(
    arg_name="message", queue_name="%EVENTS_QUEUE%-poison", connection="AzureWebJobsStorage"
)
def record_dead_event(message: func.QueueMessage) -> None:
    outcome = service.record_poisoned(notifier(), _json(message))
    logger.info("Poison delivery message %s: %s", message.id, outcome)


@bp.route(route="runs/{run}/events", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def list_run_events(req: func.HttpRequest) -> func.HttpResponse:
    run = pipeline.get_run(services().runs, run_name_from_route(req.route_params.get("run")))
    return json_answer({"run": run.name, "events": service.run_events(notifier(), run.name)})


@bp.route(
    route="runs/{run}/events/{id}/redeliver", methods=["POST"], auth_level=func.AuthLevel.FUNCTION
)
@answers_problems
def redeliver_run_event(req: func.HttpRequest) -> func.HttpResponse:
    run = pipeline.get_run(services().runs, run_name_from_route(req.route_params.get("run")))
    event_id = req.route_params.get("id") or ""
    if not EVENT_ID.match(event_id):
        raise InvalidInput(f"{event_id[:80]!r} is not an event id (evt_ and 32 hex digits)")
    return json_answer(service.redeliver(notifier(), run.name, event_id), status=202)


@bp.route(route="webhooks/{endpoint}/enable", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def enable_webhook_endpoint(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("endpoint") or ""
    if not ENDPOINT_NAME.match(name):
        raise InvalidInput(f"{name[:80]!r} is not a webhook endpoint name (1-40 of a-z 0-9 -)")
    return json_answer(service.enable_endpoint(notifier(), name))


def _json(message: func.QueueMessage) -> object:
    try:
        return message.get_json()
    except ValueError:
        return None
