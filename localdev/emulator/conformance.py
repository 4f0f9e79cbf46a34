"""Validates JSON answers against the definitions of the Swagger specs in tests/emulator/specs/.

Tests use it to prove the emulator's answers have the services' structure. The ARM spec refers
to Azure's shared `common-types` document, which is not beside it; the few definitions it needs
(Resource, ProxyResource, ErrorResponse and their parts) are restated here, as published in
azure-rest-api-specs `specification/common-types/resource-management/v3/types.json`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "tests" / "emulator" / "specs"
"""Trimmed copies of the public specs (MIT), shipped with the tests; see the README there."""
DATA_PLANE_SPEC = "azure-openai-authoring-2024-10-21.json"
ARM_SPEC = "cognitiveservices-arm-2026-09-01.json"
ARM_SPEC_URI = (
    "https://specs.invalid/specification/cognitiveservices/resource-manager/"
    "Microsoft.CognitiveServices/stable/2026-09-01/cognitiveservices.json"
)
COMMON_TYPES_REF = "../../../../../common-types/resource-management/v3/types.json"
_STRING = {"type": "string"}
COMMON_TYPES: dict[str, Any] = {
    "definitions": {
        "ErrorResponse": {
            "type": "object",
            "properties": {"error": {"$ref": "#/definitions/ErrorDetail"}},
        },
        "ErrorDetail": {
            "type": "object",
            "properties": {
                "code": _STRING,
                "message": _STRING,
                "target": _STRING,
                "details": {"type": "array", "items": {"$ref": "#/definitions/ErrorDetail"}},
                "additionalInfo": {
                    "type": "array",
                    "items": {"$ref": "#/definitions/ErrorAdditionalInfo"},
                },
            },
        },
        "ErrorAdditionalInfo": {
            "type": "object",
            "properties": {"type": _STRING, "info": {"type": "object"}},
        },
        "Resource": {
            "type": "object",
            "properties": {
                "id": _STRING,
                "name": _STRING,
                "type": _STRING,
                "systemData": {"$ref": "#/definitions/systemData"},
            },
        },
        "ProxyResource": {"type": "object", "allOf": [{"$ref": "#/definitions/Resource"}]},
        "systemData": {"type": "object"},
    }
}


class SpecSchemas:
    """The definitions of one Swagger 2.0 document, ready to validate instances against."""

    def __init__(
        self,
        document: dict[str, Any],
        uri: str,
        *,
        extra: dict[str, dict[str, Any]] | None = None,
        open_enums: Iterable[str] = (),
    ) -> None:
        document = copy.deepcopy(document)
        for name in open_enums:
            # x-ms-enum modelAsString: the listed values are known ones, not the only ones.
            document["definitions"][name].pop("enum", None)
        resources = [(uri, Resource.from_contents(document, default_specification=DRAFT4))]
        for extra_uri, contents in (extra or {}).items():
            resources.append((extra_uri, Resource.from_contents(contents, DRAFT4)))
        self._registry: Registry = Registry().with_resources(resources)
        # Definitions by name: the document's own, then those of the documents it refers to.
        self._refs = {
            name: f"{extra_uri}#/definitions/{name}"
            for extra_uri, contents in (extra or {}).items()
            for name in contents.get("definitions", {})
        }
        self._refs.update({name: f"{uri}#/definitions/{name}" for name in document["definitions"]})

    def errors(self, instance: Any, definition: str) -> list[str]:
        """Every way `instance` breaks `definition`, as readable sentences (empty: it conforms)."""
        if definition not in self._refs:
            raise KeyError(f'the spec has no definition "{definition}"')
        schema = {"$ref": self._refs[definition]}
        validator = jsonschema.Draft4Validator(schema, registry=self._registry)
        return [
            f"{definition} at /{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(instance)
        ]

    def validate(self, instance: Any, definition: str) -> None:
        """Raises AssertionError listing every violation, if there is any."""
        found = self.errors(instance, definition)
        if found:
            raise AssertionError("\n".join(found))


def data_plane_schemas(spec_dir: Path = DEFAULT_SPEC_DIR) -> SpecSchemas:
    """The Azure OpenAI authoring spec. Its ErrorCode enum is open: the live service also
    answers gateway errors with numeric codes such as "401" and "404"."""
    document = json.loads((spec_dir / DATA_PLANE_SPEC).read_text(encoding="utf-8"))
    uri = "https://specs.invalid/openai/authoring.json"
    return SpecSchemas(document, uri, open_enums=["ErrorCode"])


def arm_schemas(spec_dir: Path = DEFAULT_SPEC_DIR) -> SpecSchemas:
    """The Microsoft.CognitiveServices ARM spec, with the common types it refers to."""
    document = json.loads((spec_dir / ARM_SPEC).read_text(encoding="utf-8"))
    common_uri = urljoin(ARM_SPEC_URI, COMMON_TYPES_REF)
    return SpecSchemas(document, ARM_SPEC_URI, extra={common_uri: COMMON_TYPES})
