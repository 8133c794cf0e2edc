"""meshgen schema: the JSON Schema of the intent, generated from the model, for editors."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from meshgen.schema import schema_json
from tests.conftest import EXAMPLES, MINIMAL, REPO
from tests.workflow_helpers import run


@pytest.fixture(scope="module")
def schema() -> dict:
    result = run("schema")
    assert result.exit_code == 0
    return json.loads(result.stdout)


def _errors(schema: dict, data) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(e.message for e in validator.iter_errors(data))


def test_is_a_valid_draft_2020_12_schema(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["apiVersion", "kind", "metadata", "spec"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_accepts_every_example(schema, example):
    assert _errors(schema, yaml.safe_load(example.read_text())) == []


def test_rejects_what_meshgen_rejects(schema):
    data = yaml.safe_load(MINIMAL)
    data["spec"]["services"][0]["timout"] = "5s"
    data["spec"]["services"][1]["ports"][0]["port"] = 70000
    data["spec"]["defaults"]["timeout"] = "5 seconds"
    assert _errors(schema, data) == [
        "'5 seconds' is not valid under any of the given schemas",  # a duration, or null
        "70000 is greater than the maximum of 65535",
        "Additional properties are not allowed ('timout' was unexpected)",
    ]


def test_carries_the_models_descriptions_and_camel_case_keys(schema):
    retries = schema["$defs"]["Retries"]["properties"]
    assert set(retries) == {"attempts", "perTryTimeout", "retryOn"}
    assert retries["attempts"]["description"] == "Retries after the first try (0 = no retries). Default 2; at most 10."
    assert retries["attempts"]["default"] == 2
    assert "title" not in retries["attempts"]
    assert schema["$defs"]["Service"]["description"] == (
        "A service of the application and everything the mesh should do for calls to it."
    )


def test_committed_schema_is_current():
    """examples/*/intent.yaml point editors at schema/meshintent.schema.json: keep it generated."""
    assert (REPO / "schema" / "meshintent.schema.json").read_text() == schema_json(), (
        "regenerate with: python -m meshgen schema > schema/meshintent.schema.json"
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_name_the_schema(example):
    first = example.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schema/meshintent.schema.json"
    assert (
        example.parent / "../../schema/meshintent.schema.json"
    ).resolve() == REPO / "schema" / "meshintent.schema.json"
