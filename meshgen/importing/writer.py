"""Lay an imported intent out for people: defaults factored out, services sorted, each service
preceded by a comment naming its source objects, and the schema line ``meshgen init`` writes."""

from __future__ import annotations

import io
import json
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from meshgen.importing.model import Imported
from meshgen.intent.model import API_VERSION, KIND

SCHEMA_LINE = "# yaml-language-server: $schema=schema/meshintent.schema.json"
#: Service settings a service inherits from ``spec.defaults`` (meshgen.intent.resolve).
FACTORED = ("timeout", "retries", "retryBudget", "circuitBreaker")
#: Small mappings written on one line, as the shipped examples write them.
FLOW = ("ports", "versions")


def factor_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    """Move a setting into ``defaults`` when every service has one and most share it.

    A service cannot opt out of a default (there is no "none" value), so a setting some service
    lacks stays per service. Returns a new spec; services keep only the values that differ.
    """
    services = spec.get("services") or []
    defaults = dict(spec.get("defaults") or {})
    out_services = [dict(s) for s in services]
    for key in FACTORED:
        values = [json.dumps(s.get(key), sort_keys=True) for s in services]
        if len(services) < 2 or "null" in values:
            continue
        common = max(sorted(set(values)), key=values.count)
        if values.count(common) < 2:
            continue
        defaults[key] = json.loads(common)
        for svc, value in zip(out_services, values):
            if value == common:
                del svc[key]
    return {**spec, "defaults": defaults, "services": out_services}


def draft(imported: Imported, platform: str) -> str:
    """The same intent without comments or layout, through libyaml: fast, for validating and
    analyzing it before :func:`write` lays it out (ruamel.yaml's emitter is the slow part)."""
    import yaml

    spec = _arranged(imported)
    doc = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": imported.name}, "spec": {"platform": platform, **{k: spec[k] for k in SECTIONS if spec.get(k)}}}
    return yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)


def _arranged(imported: Imported) -> dict[str, Any]:
    spec = factor_defaults(imported.spec)
    spec["services"] = sorted(spec["services"], key=lambda s: (s.get("namespace", ""), s["name"]))
    return spec


SECTIONS = ("mesh", "telemetry", "defaults", "delivery", "services", "gateways", "egress", "suppress")


def write(imported: Imported, platform: str) -> str:
    """The intent YAML for ``imported`` (target ``platform``), deterministic for a given input."""
    spec = _arranged(imported)
    doc = CommentedMap()
    doc["apiVersion"] = API_VERSION
    doc["kind"] = KIND
    doc["metadata"] = CommentedMap(name=imported.name)
    body = CommentedMap()
    body["platform"] = platform
    for key in SECTIONS:
        if spec.get(key):
            body[key] = _commented(spec[key], key)
    doc["spec"] = body
    home = spec["defaults"].get("namespace", "default")
    for index, svc in enumerate(spec["services"]):
        key = (svc.get("namespace", home), svc["name"])
        sources = imported.sources.get(key, [])
        if sources:
            body["services"].yaml_set_comment_before_after_key(index, before="from " + "; ".join(sources), indent=4)
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    stream = io.StringIO()
    yaml.dump(doc, stream)
    return f"{SCHEMA_LINE}\n# Imported by meshgen import from {platform} manifests; review the findings it printed.\n{stream.getvalue()}"


#: Key order of the intent model's classes (Service, Route, Peer, ...), so the output reads like
#: the shipped examples; keys not listed keep their order after these.
ORDER = (
    "name", "namespace", "host", "service", "gateway", "serviceAccount", "selector", "namespaceWide", "versions",
    "replicas", "listener", "hostnames", "className", "ports", "match", "version", "port", "weight", "labels",
    "protocol", "targetPort", "routes", "timeout", "retries", "retryBudget", "circuitBreaker", "fault", "mirror",
    "methods", "paths", "allowFrom", "denyFrom", "suppress",
)


def _commented(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        rank = {k: i for i, k in enumerate(ORDER)}
        items = sorted(value.items(), key=lambda kv: rank.get(kv[0], len(ORDER))) if key not in ("headers", "queryParams") else value.items()
        for k, v in items:
            out[k] = _commented(v, k)
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_commented(v) for v in value)
        if value and all(not isinstance(v, (dict, list)) for v in value):
            seq.fa.set_flow_style()
        elif key in FLOW:
            for item in seq:
                if isinstance(item, CommentedMap) and all(not isinstance(v, (dict, list)) for v in item.values()):
                    item.fa.set_flow_style()
        return seq
    return value
