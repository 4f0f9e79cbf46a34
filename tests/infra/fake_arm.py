"""A fake Azure Resource Manager behind azure-core's transport: the real management clients build
and send their requests, and this answers them as ARM would (cognitiveservices 2026-09-01 spec
shapes for `Models_List`, Microsoft.Resources for provider registration). No network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import HttpResponse, HttpTransport


class FixedToken:
    """A credential that always has a token (nothing on this machine can sign in)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-arm-token", 4_102_444_800)

    def get_token_info(self, *scopes: str, **kwargs: Any) -> AccessTokenInfo:
        return AccessTokenInfo("fake-arm-token", 4_102_444_800)


class JsonResponse(HttpResponse):
    def __init__(self, request: Any, status: int, payload: Any) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.reason = "OK" if status < 400 else "Error"
        self.headers = {"Content-Type": "application/json"}
        self.content_type = "application/json"
        self._data = json.dumps(payload).encode()

    # Both faces of a real transport's response: the legacy one the generated clients read, and
    # the azure.core.rest one `PipelineClient.send_request` hands back.
    def body(self) -> bytes:
        return self._data

    @property
    def content(self) -> bytes:
        return self._data

    def read(self) -> bytes:
        return self._data

    def json(self) -> Any:
        return json.loads(self._data)

    def stream_download(self, pipeline: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self._data

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


def arm_model(
    name: str,
    version: str,
    *,
    fine_tune: bool,
    lifecycle: str = "GenerallyAvailable",
    fine_tune_retires: str | None = None,
    inference_retires: str | None = None,
    skus: tuple[str, ...] = ("GlobalStandard", "Standard"),
    kind: str = "OpenAI",
) -> dict[str, Any]:
    """One `Model` of a `ModelListResult`, as the spec shapes it."""
    model: dict[str, Any] = {
        "format": "OpenAI",
        "name": name,
        "version": version,
        "capabilities": {"chatCompletion": "true", **({"fineTune": "true"} if fine_tune else {})},
        "lifecycleStatus": lifecycle,
        "skus": [{"name": sku, "usageName": f"OpenAI.{sku}.{name}"} for sku in skus],
    }
    if fine_tune_retires or inference_retires:
        model["deprecation"] = {
            key: value
            for key, value in (("fineTune", fine_tune_retires), ("inference", inference_retires))
            if value
        }
    return {"kind": kind, "skuName": "S0", "model": model}


@dataclass
class FakeArm(HttpTransport):
    """Models per region, and each provider's registration state."""

    models: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)
    registering_for: int = 1
    """How many GETs a freshly registered provider answers "Registering" before "Registered"."""
    seen: list[tuple[str, str]] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Anything PUT, by path: a PUT answers 201 Succeeded at once (no polling), a GET returns it
    (else 404)."""

    def __enter__(self) -> FakeArm:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: Any, **kwargs: Any) -> JsonResponse:
        url = urlparse(request.url)
        assert url.scheme == "https" and url.hostname == "management.azure.com", request.url
        assert request.headers["Authorization"] == "Bearer fake-arm-token"
        assert "api-version=" in url.query, request.url
        self.seen.append((request.method, url.path))
        parts = url.path.strip("/").split("/")
        if parts[2:5] == ["providers", "Microsoft.CognitiveServices", "locations"]:
            return JsonResponse(request, 200, {"value": self.models.get(parts[5], [])})
        if parts[2] == "providers" and len(parts) >= 4:
            namespace = parts[3]
            if request.method == "POST" and parts[4:] == ["register"]:
                self.providers[namespace] = "Registering"
            elif self.providers.get(namespace) == "Registering":
                self.registering_for -= 1
                if self.registering_for < 0:
                    self.providers[namespace] = "Registered"
            state = self.providers.get(namespace, "NotRegistered")
            return JsonResponse(request, 200, {"namespace": namespace, "registrationState": state})
        if request.method == "PUT":
            body = json.loads(request.body or b"{}")
            body.setdefault("properties", {})["provisioningState"] = "Succeeded"
            self.resources[url.path] = {"id": url.path, "name": parts[-1], **body}
            return JsonResponse(request, 201, self.resources[url.path])
        if url.path in self.resources and request.method == "GET":
            return JsonResponse(request, 200, self.resources[url.path])
        return JsonResponse(request, 404, {"error": {"code": "NotFound", "message": url.path}})

    def registrations(self) -> list[str]:
        return [path for method, path in self.seen if method == "POST"]
