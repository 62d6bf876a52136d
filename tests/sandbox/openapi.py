"""The OpenAPI subset of the console API, for checking the simulated console's answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

SPEC = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "reference"
    / "prisma-compute-openapi-34.04-subset.json"
)


def _fix_enums(node: object) -> None:
    """The subset writes enums as ``[[...values]]``; flatten them to ``[...values]``."""
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], list):
            node["enum"] = enum[0]
        for value in node.values():
            _fix_enums(value)
    elif isinstance(node, list):
        for value in node:
            _fix_enums(value)


def load_components() -> dict[str, Any]:
    """The OpenAPI subset's components, enums repaired; skips the test if it is absent."""
    if not SPEC.is_file():
        pytest.skip(f"OpenAPI subset not found at {SPEC} (shared/ lies next to the repository)")
    spec = json.loads(SPEC.read_text())
    _fix_enums(spec)
    # The API page's own examples send "type": "" in progress steps; the enum lacks it.
    spec["components"]["schemas"]["shared.ScanType"]["enum"].append("")
    components = spec["components"]
    assert isinstance(components, dict)
    return components


def validate(components: dict[str, Any], schema_name: str, payload: object) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    Draft202012Validator(schema).validate(payload)
