"""The two front doors: the data plane (HTTP) and ARM (HTTPS).

Each checks, in order: injected HTTP faults, authentication, api-version, then routes; and
records every request it served in the request log.
"""

from __future__ import annotations

from collections.abc import Callable

from localdev.emulator import admin, arm, chat, eventgrid, files, jobs_api, models
from localdev.emulator.faults import fault_response, lose_answer
from localdev.emulator.requestlog import RequestRecord
from localdev.emulator.store import State
from localdev.emulator.wire import ApiError, Request, Response, Router

# The GA version of the spec, plus the versions the app or the `openai` package may be
# configured with (the package sends whatever `api_version` it is given).
DATA_PLANE_API_VERSIONS = frozenset(
    {
        "2024-02-01", "2024-06-01", "2024-10-21",
        "2024-08-01-preview", "2024-09-01-preview", "2024-10-01-preview",
        "2024-12-01-preview", "2025-01-01-preview", "2025-02-01-preview",
        "2025-03-01-preview", "2025-04-01-preview",
    }
)  # fmt: skip
# 2025-09-01 is what azure-mgmt-cognitiveservices 14.1 sends; 2026-09-01 is the spec's; the
# others are the versions of the example pairs and recent GA versions.
ARM_API_VERSIONS = frozenset(
    {
        "2023-05-01", "2024-10-01", "2025-04-01", "2025-06-01", "2025-09-01",
        "2026-05-01", "2026-07-01", "2026-09-01",
    }
)  # fmt: skip
UNAUTHORIZED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)

App = Callable[[Request], Response]


def data_plane_app(state: State, info: admin.Info) -> App:
    router = Router()
    for module in (files, jobs_api, models, chat):
        module.register(router, state)

    def serve(request: Request) -> Response:
        fault = state.faults.take_http(request.method, request.path)
        if fault is not None and fault.kind != "lost_answer":
            style = "inference" if "/deployments/" in request.path else "authoring"
            return fault_response(fault, style=style)
        try:
            _authenticate_data_plane(state, request)
            if request.query.get("api-version") not in DATA_PLANE_API_VERSIONS:
                raise ApiError(404, "404", "Resource not found")
            response = _route(router, request, ApiError(404, "404", "Resource not found"))
        except ApiError as error:
            response = error.to_response()
        return lose_answer(fault, response) if fault is not None else response

    def app(request: Request) -> Response:
        if eventgrid.handles(request):
            return _logged(state, "eventgrid", request, eventgrid.handle(state, request))
        if request.path.startswith(admin.PREFIX):
            return admin.handle(state, info, request)
        return _logged(state, "openai", request, serve(request))

    return app


def arm_app(state: State) -> App:
    router = Router(ignore_case=True)
    arm.register(router, state)

    def serve(request: Request) -> Response:
        fault = state.faults.take_http(request.method, request.path)
        if fault is not None and fault.kind != "lost_answer":
            return fault_response(fault, style="arm")
        try:
            _authenticate_arm(request)
            _check_arm_version(state, request)
            unknown = ApiError(404, "NotFound", f"The path '{request.path}' is not an ARM route.")
            response = _route(router, request, unknown)
        except ApiError as error:
            response = error.to_response()
        return lose_answer(fault, response) if fault is not None else response

    return lambda request: _logged(state, "arm", request, serve(request))


def _route(router: Router, request: Request, unknown: ApiError) -> Response:
    resolved = router.resolve(request.method, request.path)
    if resolved is None:
        raise unknown
    handler, params = resolved
    return handler(request, params)


def _logged(state: State, plane: str, request: Request, response: Response) -> Response:
    # A timeout's answer has status 0; a lost answer keeps the status of the work it did.
    status = response.status
    record = RequestRecord(request.method, request.path, request.query, status, state.now(), plane)
    state.log.append(record)
    if response.drop_after is not None:
        response.released = state.faults.release_signal()
    return response


def _authenticate_data_plane(state: State, request: Request) -> None:
    if request.header("api-key") == state.api_key:
        return
    scheme, _, token = request.header("authorization").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return
    raise ApiError(401, "401", UNAUTHORIZED)


def _authenticate_arm(request: Request) -> None:
    authorization = request.header("authorization")
    if not authorization:
        message = "Authentication failed. The 'Authorization' header is missing."
        raise ApiError(401, "AuthenticationFailed", message)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        message = "Authentication failed. The 'Authorization' header is not a Bearer token."
        raise ApiError(401, "AuthenticationFailed", message)


def _check_arm_version(state: State, request: Request) -> None:
    version = request.query.get("api-version")
    if not version:
        message = "The api-version query parameter (?api-version=) is required for all requests."
        raise ApiError(400, "MissingApiVersionParameter", message)
    if version not in ARM_API_VERSIONS:
        supported = ", ".join(sorted(ARM_API_VERSIONS))
        message = (
            f"No registered resource provider found for location '{state.location}' and API "
            f"version '{version}' for type 'accounts'. The supported api-versions are "
            f"'{supported}'."
        )
        raise ApiError(400, "NoRegisteredProviderFound", message)
