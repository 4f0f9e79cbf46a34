"""The service layer: what the triggers call. Takes its adapters as parameters (see `protocols`).

handle_dropped_blob(services, blob_name, now)   the inbox blob trigger, once per blob
advance_runs(services, now)                     the timer, once per tick
advance_queued(services, message, now)          the runs queue, once per message of a tick
record_poisoned_blob(services, message, now, inbox_container)
                                                the host's blob poison queue, once per message
get_run / list_runs / run_points / request_deploy / request_teardown / cancel_run / chat
                                                the HTTP API
"""

from shared.pipeline.commands import cancel_run, chat, request_deploy, request_teardown
from shared.pipeline.drop import DropOutcome, handle_dropped_blob
from shared.pipeline.poison import PoisonOutcome, record_poisoned_blob
from shared.pipeline.queries import get_run, list_runs, run_points
from shared.pipeline.services import Services
from shared.pipeline.tick import TickSummary, advance_queued, advance_runs

__all__ = [
    "DropOutcome",
    "PoisonOutcome",
    "Services",
    "TickSummary",
    "advance_queued",
    "advance_runs",
    "cancel_run",
    "chat",
    "get_run",
    "handle_dropped_blob",
    "list_runs",
    "record_poisoned_blob",
    "request_deploy",
    "request_teardown",
    "run_points",
]
