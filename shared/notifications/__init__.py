"""Telling other services what happened to a run: signed webhooks and Event Grid events.

    events.py      the event types (one place) and the payload of each event          pure
    policy.py      what a delivery attempt's answer means: delivered, retry when, give up  pure
    urls.py        the SSRF guard on webhook URLs                                        pure
    settings.py    the notification settings (endpoints, secrets, backoff, Event Grid)   pure
    service.py     sweep the outbox, deliver one message, record poison, list, redeliver
    protocols.py   the roles the service needs: EventStore, DeliveryQueue, Sender

Never lost: a run's events are rows written in the same entity-group transaction as the run row
(`shared.adapters.table_store`, a transactional outbox). A sweeper hands pending events to a
queue; a queue-triggered function delivers each to each endpoint, at least once.
"""
