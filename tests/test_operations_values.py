"""Every Helm values file meshgen writes uses the chart's real keys.

Cilium, istio-csr and trust-manager ship values.schema.json: the chart defaults merged with
meshgen's values (as Helm merges them) must validate, and every key meshgen sets must be a
property the schema declares. istiod and linkerd-control-plane ship no schema: every key path
must be in the chart's documented keys (tests/fixtures/*-keys.txt, see its README).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from meshgen.loader import load_intent, parse_intent
from meshgen.platforms import get_platform
from meshgen.platforms.operations import plan_operations as _plan_operations
from meshgen.render import render_file
from tests.conftest import EXAMPLES, FIXTURES as SHARED_FIXTURES, MINIMAL, REPO


def plan_operations(name, intent):
    """The operations plan of the platform registered as ``name``."""
    return _plan_operations(get_platform(name), intent)

FIXTURES = Path(__file__).parent / "fixtures"
CHARTS = SHARED_FIXTURES / "charts"  # values.yaml and values.schema.json, copied from the charts
SCHEMA_CHARTS = {"cilium": "cilium", "istio-csr": "istio-csr", "trust-manager": "trust-manager"}
KEY_CHARTS = {"istiod": "istiod-keys.txt", "linkerd-control-plane": "linkerd-control-plane-keys.txt", "consul": "consul-keys.txt"}


def _intents():
    out = [pytest.param(load_intent(p), id=p.parent.name) for p in EXAMPLES]
    variants = {
        "one-replica": "  mesh:\n    controlPlane: {replicas: 1}\n",
        "vault": "  mesh:\n    ca: {type: vault, issuerRef: {name: vault-issuer}}\n    encryption: ipsec\n",
        "telemetry-text": "  telemetry:\n    tracing: {endpoint: 'otel:4317'}\n    accessLogs: {format: text}\n",
    }
    for name, block in variants.items():
        text = MINIMAL.replace("  defaults:\n", f"{block}  defaults:\n")
        out.append(pytest.param(parse_intent(text, Path("intent.yaml")), id=name))
    return out


INTENTS = _intents()


def _values(platform, intent) -> dict[str, dict]:
    return {f.path[len("values/"):-len(".yaml")]: yaml.safe_load(render_file(f)) for f in plan_operations(platform, intent).files}


def _helm_merge(defaults, values):
    """User values over chart defaults, as Helm coalesces them: maps merge, anything else replaces."""
    out = dict(defaults)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _helm_merge(out[key], value)
        else:
            out[key] = value
    return out


#: Keys whose value is a Kubernetes API object (core/v1 Affinity): the chart passes it through, and
#: its schema only echoes the default, so the key itself is the leaf for the key checks.
KUBERNETES_OBJECTS = ("affinity",)


def _paths(value, prefix=""):
    """Dotted key paths down to scalars, lists and Kubernetes objects (leaves)."""
    if isinstance(value, dict) and value and prefix.rsplit(".", 1)[-1] not in KUBERNETES_OBJECTS:
        for key, item in value.items():
            yield from _paths(item, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


def _documented(chart: str) -> tuple[set[str], tuple[str, ...]]:
    keys, open_maps = set(), []
    for line in (FIXTURES / KEY_CHARTS[chart]).read_text().splitlines():
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if entry.endswith(".*"):
            open_maps.append(entry[:-2] + ".")
        else:
            keys.add(entry)
    return keys, tuple(open_maps)


def _schema_declares(schema: dict, path: str, root: dict) -> bool:
    node = schema
    for part in path.split("."):
        while "$ref" in node:
            node = _resolve(root, node["$ref"])
        props = node.get("properties", {})
        if part in props:
            node = props[part]
            continue
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            node = extra
            continue
        return extra is True or (extra is None and not props)
    return True


def _resolve(root: dict, ref: str) -> dict:
    node = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


@pytest.mark.parametrize("platform", ["istio", "linkerd", "cilium", "consul"])
@pytest.mark.parametrize("intent", INTENTS)
def test_values_files_use_documented_keys(platform, intent):
    files = _values(platform, intent)
    assert files, "every platform writes at least one values file"
    for chart, values in files.items():
        if chart in SCHEMA_CHARTS:
            schema = json.loads((CHARTS / SCHEMA_CHARTS[chart] / "values.schema.json").read_text())
            defaults = yaml.safe_load((CHARTS / SCHEMA_CHARTS[chart] / "values.yaml").read_text())
            merged = _helm_merge(defaults, values)
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(merged), key=str)
            assert [f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors] == []
            undeclared = [p for p in _paths(values) if not _schema_declares(schema, p, schema)]
            assert undeclared == [], f"{chart}: keys the schema does not declare"
        else:
            keys, open_maps = _documented(chart)
            unknown = [p for p in _paths(values) if p not in keys and not f"{p}.".startswith(open_maps)]
            assert unknown == [], f"{chart}: keys the chart does not document"


def test_a_misspelt_key_is_caught():
    keys, open_maps = _documented("istiod")
    assert "replicaCount" in keys
    assert "replicaCounts" not in keys and not "replicaCounts".startswith(open_maps)
    schema = json.loads((CHARTS / "cilium" / "values.schema.json").read_text())
    assert _schema_declares(schema, "operator.replicas", schema)
    assert not _schema_declares(schema, "operator.replica", schema)


def test_production_example_writes_every_chart():
    intent = load_intent(REPO / "examples" / "production-identity" / "intent.yaml")
    assert sorted(_values("istio", intent)) == ["istio-csr", "istiod", "trust-manager"]
    assert sorted(_values("linkerd", intent)) == ["linkerd-control-plane", "trust-manager"]
    assert sorted(_values("cilium", intent)) == ["cilium"]
