"""`python -m localdev.blob_created <blob>`: tell a local Functions host that a blob was created.

For `func start` with Azurite, which publishes no Event Grid events: after uploading a file to the
inbox, this POSTs the `Microsoft.Storage.BlobCreated` event that Event Grid would deliver in Azure
to the host's blobs webhook, so the inbox blob trigger (source EventGrid) runs on it.

    python -m localdev.blob_created run-1/train.jsonl
    python -m localdev.blob_created run-1/train.jsonl --print > event.json   # for curl

`python -m localdev up|host` does not need it: they deliver these events by themselves.
"""

from __future__ import annotations

import argparse
import json
import sys

from localdev.config import load_local_settings
from localdev.host.blob_events import blob_created_event
from localdev.host.blob_webhook import FUNCTION_ID_PREFIX, PATH
from localdev.host.event_grid import DeliveryRefused, post_events

INBOX_FUNCTION = "validate_dropped_file"


def main(argv: list[str] | None = None) -> int:
    settings = load_local_settings()
    parser = argparse.ArgumentParser(prog="python -m localdev.blob_created", description=__doc__)
    parser.add_argument("blob", help="the blob's name in the container, e.g. run-1/train.jsonl")
    parser.add_argument("--container", default=settings.get("INBOX_CONTAINER") or "training-inbox")
    parser.add_argument("--host", default="http://127.0.0.1:7071", help="the Functions host")
    parser.add_argument("--function", default=INBOX_FUNCTION, help="the blob-triggered function")
    parser.add_argument("--key", default="", help="the function key, if the host enforces keys")
    parser.add_argument("--print", action="store_true", help="print the event, send nothing")
    args = parser.parse_args(argv)

    event = blob_created_event(
        container=args.container,
        blob_name=args.blob,
        url=f"http://127.0.0.1:10000/devstoreaccount1/{args.container}/{args.blob}",
    )
    if args.print:
        print(json.dumps([event], indent=2))
        return 0
    url = f"{args.host.rstrip('/')}{PATH}?functionName={FUNCTION_ID_PREFIX}{args.function}"
    if args.key:
        url += f"&code={args.key}"
    try:
        post_events(url, [event])
    except DeliveryRefused as exc:
        print(f"not delivered: {exc}", file=sys.stderr)
        return 1
    print(f"delivered BlobCreated for {args.container}/{args.blob} to {args.function}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
