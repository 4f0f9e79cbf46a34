"""Timer: advance every active run by the steps that are due, recording each transition; past
FAN_OUT_ABOVE_RUNS due runs, put them on RUNS_QUEUE, whose trigger advances them."""

import logging

import azure.functions as func

from shared.bootstrap import services
from shared.errors import InvalidInput
from shared.pipeline import advance_queued, advance_runs

logger = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="%RUN_TIMER_SCHEDULE%", run_on_startup=False)
def advance_active_runs(timer: func.TimerRequest) -> None:
    app = services()
    advance_runs(app, app.clock())


@bp.queue_trigger(arg_name="message", queue_name="%RUNS_QUEUE%", connection="AzureWebJobsStorage")
def advance_queued_runs(message: func.QueueMessage) -> None:
    app = services()
    try:
        advance_queued(app, message.get_body(), app.clock())
    except InvalidInput as exc:
        # Not one the timer wrote: retrying would not make it readable.
        logger.warning("Runs message %s ignored: %s", message.id, exc)
