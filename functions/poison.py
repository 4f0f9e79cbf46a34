"""Queue trigger on the host's blob poison queue: fail the run of a file whose validation
kept crashing.

The Functions host writes `webjobs-blobtrigger-poison` messages itself (base64 JSON naming the
function, container, blob and ETag) once a blob trigger has failed `poisonBlobThreshold` times.
"""

import logging

import azure.functions as func

from shared.bootstrap import services, settings
from shared.pipeline import record_poisoned_blob
from shared.pipeline.poison import POISON_QUEUE

logger = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.queue_trigger(arg_name="message", queue_name=POISON_QUEUE, connection="AzureWebJobsStorage")
def record_poisoned_inbox_blob(message: func.QueueMessage) -> None:
    try:
        body = message.get_json()
    except ValueError:
        # Not the host's JSON: nothing to record, and retrying would not make it readable.
        logger.warning("Poison message %s is not JSON; ignored", message.id)
        return
    if not isinstance(body, dict):
        logger.warning("Poison message %s is not a JSON object; ignored", message.id)
        return
    app = services()
    outcome = record_poisoned_blob(app, body, app.clock(), settings().inbox_container)
    logger.info("Poison message %s: %s (%s)", message.id, outcome.action, outcome.detail)
