"""Fuzz the CLI with random intents generated from the intent's JSON Schema (issue 18).

Random intents are drawn from ``meshgen schema`` (the model's JSON Schema) and rendered through the
CLI entry point on every registered platform. Properties checked for each run:

* the exit code is one of the documented ones (0, 1, 2, 3), and there is no traceback;
* on failure stdout is empty (nothing half-written);
* on success every output document parses (libyaml, PyYAML and ruamel.yaml) to a mapping with a
  kind, and every intent string that was written into the output comes back verbatim.

tests/test_fuzz.py runs a bounded number of examples in CI; run longer by hand::

    python benchmarks/fuzz.py --examples 2000

A small JSON Schema to hypothesis translation of our own: hypothesis-jsonschema does not work with
current hypothesis releases, and the intent's schema only uses a handful of keywords.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from meshgen.render import yaml_scalar
from meshgen.schema import intent_schema

EXIT_CODES = {0, 1, 2, 3}
#: exit code -> how many renders ended with it (printed by main, to see what the fuzzing reached)
OUTCOMES: Counter = Counter()
# A few names reused often, so references (allowFrom: service, version, listener) sometimes resolve.
NAMES = ["api", "web", "db", "v1", "v2", "http", "grpc", "shop"]
_DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# Characters for strings the schema leaves unconstrained (label maps, ...): printable text and the
# characters YAML parsers and the loader treat specially, control characters included.
_HOSTILE_CHARS = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x2FFF),
    st.sampled_from(list("\n\t\r\x00\x7f\x85\u2028\u2029\ufeff:#&*!|>'\"%@`{}[],-? ")),
)


def _text(schema: dict) -> st.SearchStrategy[str]:
    min_size = schema.get("minLength", 0)
    max_size = min(schema.get("maxLength", 24), 24)
    pattern = schema.get("pattern")
    if pattern == _DNS_LABEL:
        return st.one_of(st.sampled_from(NAMES), st.from_regex(r"\A[a-z][a-z0-9-]{0,8}[a-z0-9]\Z"))
    if pattern is not None:
        strategy = st.from_regex(pattern, fullmatch=True)  # ECMA-262 $: the end, not before a final \n
        cap = schema.get("maxLength")
        return strategy.filter(lambda s: min_size <= len(s) and (cap is None or len(s) <= cap))
    return st.text(_HOSTILE_CHARS, min_size=min_size, max_size=max(min_size, max_size))


class SchemaStrategies:
    """Hypothesis strategies for the subset of JSON Schema that ``meshgen schema`` uses."""

    def __init__(self, root: dict) -> None:
        self.root = root
        self.defs: dict[str, st.SearchStrategy] = {}

    def ref(self, ref: str) -> st.SearchStrategy:
        name = ref.rsplit("/", 1)[-1]
        if name not in self.defs:
            self.defs[name] = st.deferred(lambda: self.build(self.root["$defs"][name]))
        return self.defs[name]

    def build(self, schema: dict) -> st.SearchStrategy:
        if "$ref" in schema:
            return self.ref(schema["$ref"])
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return st.one_of([self.build(s) for s in schema[key]])
        kind = schema.get("type")
        if isinstance(kind, list):
            return st.one_of([self.build({**schema, "type": k}) for k in kind])
        if kind == "object":
            return self.object(schema)
        if kind == "array":
            items = self.build(schema.get("items", {"type": "string"}))
            return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3))
        if kind == "string":
            return _text(schema)
        if kind == "integer":
            low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in schema else -5)
            return st.integers(min_value=low, max_value=schema.get("maximum", max(low, 0) + 100))
        if kind == "number":
            low = schema.get("minimum", schema.get("exclusiveMinimum", -5))
            high = schema.get("maximum", low + 1000)
            return st.floats(low, high, allow_nan=False, exclude_min="exclusiveMinimum" in schema)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return st.one_of(st.none(), st.booleans(), st.integers(), _text({}))

    def object(self, schema: dict) -> st.SearchStrategy:
        props = schema.get("properties")
        if props is not None:
            required = set(schema.get("required", []))
            return st.fixed_dictionaries(
                {k: self.build(v) for k, v in props.items() if k in required},
                optional={k: self.build(v) for k, v in props.items() if k not in required},
            )
        patterns = schema.get("patternProperties")
        if patterns:
            key_pattern, value_schema = next(iter(patterns.items()))
            keys = _text({"pattern": key_pattern, "maxLength": 24})
        else:
            value_schema = schema.get("additionalProperties", {"type": "string"})
            if value_schema is True:
                value_schema = {}
            keys = _text(schema.get("propertyNames", {"maxLength": 16}))
        return st.dictionaries(keys, self.build(value_schema), max_size=3)


def intents() -> st.SearchStrategy[dict]:
    """Random intents drawn from the intent's JSON Schema (most fail cross-field rules: exit 1)."""
    return SchemaStrategies(intent_schema()).build(intent_schema())


def _string_schema(root: dict, model: str, prop: str) -> dict:
    """The schema of string field ``model.prop`` (the non-null branch; a map's or list's values)."""
    schema = root["$defs"][model]["properties"][prop]
    schema = next(b for b in schema.get("anyOf", [schema]) if b.get("type") != "null")
    if schema.get("type") == "array":
        return schema["items"]
    if schema.get("type") == "object":
        patterns = schema.get("patternProperties")
        return next(iter(patterns.values())) if patterns else schema.get("additionalProperties", {"type": "string"})
    return schema


def seeded_intents() -> st.SearchStrategy[dict]:
    """A valid intent whose free-form strings (header, path and query matches, JWT issuer and
    audiences, header edits, authorization paths) are drawn from their JSON Schema: random intents
    rarely pass the cross-field rules, these reach the renderers with hostile strings every time.
    """
    root = intent_schema()
    strategies = SchemaStrategies(root)

    def field(model: str, prop: str) -> st.SearchStrategy[str]:
        return strategies.build(_string_schema(root, model, prop))

    def intent(exact, prefix, query, issuer, audience, header, path):
        match = {"headers": {"x-user": {"exact": exact}}, "path": {"prefix": "/" + prefix}, "queryParams": {"q": {"exact": query}}}
        return {
            "apiVersion": "meshgen.dev/v1alpha1",
            "kind": "MeshIntent",
            "metadata": {"name": "shop"},
            "spec": {
                "defaults": {"namespace": "shop"},
                "services": [
                    {
                        "name": "api",
                        "ports": [{"name": "http", "port": 8080}],
                        "versions": [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}],
                        "routes": [{"match": match, "version": "v2"}],
                        "requestAuthentication": {
                            "issuer": issuer,
                            "jwksUri": "https://idp.example.com/keys",
                            "audiences": [audience],
                        },
                        "allowFrom": [{"service": "web", "paths": ["/" + path]}],
                    },
                    {"name": "web", "ports": [{"name": "http", "port": 8080}]},
                ],
                "gateways": [
                    {
                        "name": "public",
                        "listeners": [{"port": 80, "protocol": "HTTP"}],
                        "routes": [{"service": "web", "requestHeaders": {"set": {"x-added": header}}}],
                    }
                ],
            },
        }

    def path_text(s: str) -> str:
        return s.replace("*", "").lstrip("/")  # authorization paths allow one * at an end only

    return st.builds(
        intent,
        exact=field("StringMatch", "exact").filter(bool),
        prefix=field("StringMatch", "prefix").map(path_text),
        query=field("StringMatch", "exact").filter(bool),
        issuer=field("JwtRule", "issuer").filter(bool),
        audience=field("JwtRule", "audiences").filter(bool),
        header=field("HeaderEdits", "set").filter(bool),
        path=field("Peer", "paths").map(path_text),
    )


def strings(value: Any) -> Iterator[str]:
    """Every string in ``value`` (keys and values), depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def _written_form(value: str) -> str:
    """How the emitter writes ``value`` inside the output text (without its quotes)."""
    text = yaml_scalar(value)
    return text[1:-1] if text.startswith('"') else text


_NOT_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def intent_text(intent: dict) -> str:
    """``intent`` as JSON (which is YAML) that libyaml reads back exactly: characters outside YAML's
    printable set escaped as \\uXXXX, astral characters written as themselves (libyaml does not
    join \\ud83d\\ude00 surrogate pairs)."""
    text = json.dumps(intent, ensure_ascii=False)
    return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def check_render(intent: dict, platform: str, allow_loss: bool, workdir: Path) -> None:
    """Render ``intent`` (written as JSON, which is YAML) on ``platform`` through the CLI; assert the
    properties listed in the module docstring. Raises AssertionError with the evidence."""
    from typer.testing import CliRunner

    from meshgen.cli import app

    path = workdir / "intent.yaml"
    path.write_text(intent_text(intent), encoding="utf-8")
    args = ["render", str(path), "--platform", platform] + (["--allow-loss"] if allow_loss else [])
    result = CliRunner().invoke(app, args)
    context = f"meshgen {' '.join(args)} -> exit {result.exit_code}\nstderr: {result.stderr[-2000:]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{context}\nexception: {result.exception!r}") from result.exception
    OUTCOMES[result.exit_code] += 1
    assert result.exit_code in EXIT_CODES, context
    assert "Traceback" not in result.stderr, context
    if result.exit_code != 0:
        assert result.stdout == "", context
        return
    stream = result.stdout
    parsed = list(yaml.load_all(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    assert parsed == list(yaml.safe_load_all(stream)), context
    assert parsed == list(YAML(typ="safe", pure=True).load_all(stream)), context
    # An intent without services may render no object on stdout: on kubernetes nothing exists to
    # select, on cilium the mesh-wide settings are Helm values (files under --output only). With a
    # service, every platform writes at least its policy.
    assert parsed or not intent["spec"].get("services"), context
    assert all(isinstance(d, dict) and "kind" in d for d in parsed), context
    written = set(strings(parsed))
    for value in set(strings(intent)):
        if len(value) >= 3 and _written_form(value) in stream:
            assert any(value in w for w in written), f"{context}\nchanged on the way: {value!r}"


def run(examples: int, platforms: list[str]) -> None:
    """Check ``examples`` random intents on each platform (hypothesis shrinks any failure)."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(intent=st.one_of(intents(), seeded_intents()), allow_loss=st.booleans())
    def fuzz(intent, allow_loss):
        with tempfile.TemporaryDirectory(prefix="meshgen-fuzz-") as tmp:
            for platform in platforms:
                check_render(intent, platform, allow_loss, Path(tmp))

    fuzz()


def main() -> None:
    from meshgen.platforms import PLATFORMS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="random intents (default 1000)")
    parser.add_argument("--platforms", nargs="+", default=sorted(PLATFORMS), help="default: every registered one")
    args = parser.parse_args()
    run(args.examples, args.platforms)
    print(f"{args.examples} intents x {len(args.platforms)} platforms: every property held")
    print("renders by exit code:", dict(sorted(OUTCOMES.items())))


if __name__ == "__main__":
    main()
