"""OpenAPI schema post-processing: every operation documents the error answers it can give,
so a client (and the Schemathesis suite, tests/bulwark/api/test_schemathesis.py) meets no
status the schema does not name.

DRF answers these the same way on every endpoint: 401 when the request is not signed in,
403 for a role that may not act, 404 for an id that does not exist or is outside the user's
groups (the same answer for both) or a stale `cursor`, 409 when a deletion is refused because
something still uses the object (or an action does not fit its state), 429 when a throttle is
spent, each as `{"detail": ...}`;
400 for invalid input, as DRF's field errors (`{"field": ["message"]}`) or `{"detail": ...}`.
An operation that documents a code itself (import refusals) keeps its own description."""

from __future__ import annotations

from typing import Any

METHODS = {"get", "put", "patch", "post", "delete"}

ERROR = {
    "type": "object",
    "description": "An error: `detail` says what went wrong.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
INVALID = {
    "type": "object",
    "description": "Invalid input: each key names a field (or `non_field_errors`, or "
    "`detail`) and holds its messages.",
    "additionalProperties": {},
}

_ANSWERS = {
    "401": ("Error", "not signed in"),
    "403": ("Error", "signed in, but your role may not do this"),
    "429": ("Error", "too many requests: wait and retry"),
}


def link_created_objects(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """OpenAPI links from each `POST /api/X/` (201) to every operation on `/api/X/{id}/...`,
    its `id` taken from the created object: clients (and Schemathesis' stateful phase) can
    follow a creation to the object's reads, changes, actions and deletion."""
    paths = result.get("paths", {})
    for path, item in paths.items():
        created = (item.get("post") or {}).get("responses", {}).get("201")
        if created is None or "{" in path:
            continue
        links = created.setdefault("links", {})
        for target, target_item in paths.items():
            if not target.startswith(f"{path}{{id}}/"):
                continue
            for method, operation in target_item.items():
                if method in METHODS and operation.get("operationId"):
                    links[operation["operationId"]] = {
                        "operationId": operation["operationId"],
                        "parameters": {"id": "$response.body#/id"},
                    }
    return result


def document_errors(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry (settings.SPECTACULAR_SETTINGS)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("Invalid", INVALID)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            answers = dict(_ANSWERS)
            if "{" in path:
                answers["404"] = ("Error", "not found, or not in your groups")
            parameters = operation.get("parameters") or []
            if parameters or operation.get("requestBody") or "{" in path:
                answers["400"] = ("Invalid", "invalid input, named by field")
            if any(p.get("name") == "cursor" for p in parameters):
                answers["404"] = ("Error", "invalid cursor")
            if method == "delete" or (method == "post" and "{" in path):
                answers["409"] = ("Error", "in conflict with the object's state or its users")
            responses = operation.setdefault("responses", {})
            for code, (schema, description) in answers.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{schema}"}
                            }
                        },
                    },
                )
    return result
