"""The JSON Schema of the intent, generated from the pydantic model (descriptions included).

Editors use it to complete and check intent files: the YAML language server (VS Code, Neovim,
JetBrains) reads the ``# yaml-language-server: $schema=<path or URL>`` comment at the top of a
file. The schema is derived from :class:`~meshgen.intent.model.MeshIntent`, never written by
hand, so it cannot drift from what meshgen accepts. It checks shapes and values (keys, types,
patterns, bounds, enums); rules across fields (weights sum to 100, references resolve) stay in
``meshgen validate``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from meshgen.intent.model import API_VERSION, MeshIntent

#: Draft of the generated schema (the one pydantic v2 targets).
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = f"https://meshgen.dev/schema/{API_VERSION.split('/')[-1]}/meshintent.schema.json"


class _NoFieldTitles(GenerateJsonSchema):
    """Leave out titles pydantic derives from Python field names (``Pertrytimeout``): editors
    show the description instead."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def intent_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ``MeshIntent`` document, camelCase keys."""
    body = MeshIntent.model_json_schema(by_alias=True, mode="validation", schema_generator=_NoFieldTitles)
    return {"$schema": DRAFT, "$id": SCHEMA_ID, **body}


def schema_json() -> str:
    """:func:`intent_schema` as stable, indented JSON text ending in a newline."""
    return json.dumps(intent_schema(), indent=2, ensure_ascii=False) + "\n"
