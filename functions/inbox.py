"""Blob trigger on the inbox: validate each dropped run file and record its verdict."""

import logging

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob_bindings

from shared.bootstrap import services
from shared.pipeline import handle_dropped_blob

logger = logging.getLogger(__name__)

bp = func.Blueprint()


# Event Grid tells the host about each created blob (Flex Consumption supports no other blob
# source). The SDK-type binding hands over a BlobClient, not the content, so the file is streamed
# by the validator instead of being loaded whole into memory by the host.
@bp.blob_trigger(
    arg_name="blob",
    path="%INBOX_CONTAINER%/{name}",
    connection="AzureWebJobsStorage",
    source=func.BlobSource.EVENT_GRID,
)
def validate_dropped_file(blob: blob_bindings.BlobClient) -> None:
    app = services()
    outcome = handle_dropped_blob(app, blob.blob_name, app.clock())
    logger.info("Dropped %s: %s (%s)", outcome.blob_name, outcome.action, outcome.detail)
