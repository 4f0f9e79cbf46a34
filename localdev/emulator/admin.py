"""Admin endpoints under /_emulator/ on the data-plane port, for processes that did not start
the emulator (the local Functions host, end-to-end tests). Not logged, not authenticated.

    GET    /_emulator/info       URLs, key and ARM names of the emulated account
    GET    /_emulator/requests   the request log             DELETE clears it
    GET    /_emulator/faults     armed faults with what remains
    POST   /_emulator/faults     arm a fault (a JSON object, or a list of them) -> 201
    DELETE /_emulator/faults     disarm every fault -> 204
    DELETE /_emulator/holds      end every hold in progress (timeout, lost_answer) -> 204
    GET    /_emulator/limits     limits, use now and the highest use seen
    PUT    /_emulator/limits     change some limits (a JSON object of them) -> the same answer
    GET    /_emulator/fine-tuned/M   what fine-tuned model M answers as and learnt (404: none)
    PUT    /_emulator/peers      the accounts whose models this one deploys (`peers.py`) -> 204
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from localdev.emulator import arm, limits, peers
from localdev.emulator.faults import Fault
from localdev.emulator.store import State
from localdev.emulator.wire import ApiError, Request, Response, json_response

PREFIX = "/_emulator/"
FINE_TUNED = "fine-tuned/"
Info = dict[str, Any]


def handle(state: State, info: Info, request: Request) -> Response:
    try:
        return _dispatch(state, info, request)
    except ApiError as error:
        return error.to_response()


def _dispatch(state: State, info: Info, request: Request) -> Response:
    route = (request.method, request.path.removeprefix(PREFIX).rstrip("/"))
    if route == ("GET", "info"):
        return json_response(200, info)
    if route == ("GET", "requests"):
        return json_response(200, {"data": [r.to_json() for r in state.log.records()]})
    if route == ("DELETE", "requests"):
        state.log.clear()
        return Response(204)
    if route == ("GET", "faults"):
        return json_response(200, {"data": state.faults.armed()})
    if route == ("POST", "faults"):
        payload = request.json()
        try:
            faults = [
                Fault.from_json(p) for p in (payload if isinstance(payload, list) else [payload])
            ]
        except ValueError as exc:
            raise ApiError(400, "invalidFault", str(exc)) from exc
        for fault in faults:
            state.faults.add(fault)
        return json_response(201, {"data": [f.to_json() for f in faults]})
    if route == ("DELETE", "faults"):
        state.faults.clear()
        return Response(204)
    if route == ("DELETE", "holds"):
        state.faults.release_holds()
        return Response(204)
    if route == ("GET", "limits"):
        return json_response(200, limits.report(state))
    if route == ("PUT", "limits"):
        try:
            changed = state.limits.changed(request.json())
        except (ValueError, TypeError) as exc:
            raise ApiError(400, "invalidLimits", str(exc)) from exc
        set_limits(state, changed)
        return json_response(200, limits.report(state))
    if route == ("PUT", "peers"):
        peers.set_peers(state, request.json())
        return Response(204)
    if route[0] == "GET" and route[1].startswith(FINE_TUNED):
        name = urllib.parse.unquote(route[1].removeprefix(FINE_TUNED))
        served = arm.fine_tuned_here(state, name)
        if served is None:
            raise ApiError(404, "notFound", f"No fine-tuned model {name!r} on this account.")
        with state.lock:
            dataset = state.trained.get(served)
        return json_response(200, peers.describe(served, dataset))
    raise ApiError(404, "notFound", f"There is no admin endpoint {request.method} {request.path}.")


def set_limits(state: State, changed: limits.Limits) -> None:
    """New limits; jobs still waiting for a slot are scheduled again under them."""
    with state.lock:
        state.limits = changed
        limits.schedule(state)
