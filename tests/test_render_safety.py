"""No intent string can inject YAML; output is byte-identical across runs and hash seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import urllib.parse

import pytest
import yaml

from meshgen import load_intent, render
from meshgen.errors import IntentError
from meshgen.platforms import PLATFORMS
from meshgen.render import yaml_block, yaml_scalar
from tests.conftest import REPO, write_intent

HOSTILE = [
    "a\nkind: Secret",
    "x: y",
    "- item",
    "'single' \"double\"",
    "{{ 7*7 }}",
    "{% raw %}",
    "&anchor *alias",
    "# comment",
    "---",
    "yes",
    "0755",
    "1e3",
    "null",
    "back\\slash",
    "ünïcödé ✓",
    "@at `tick` |pipe >fold %pct !tag",
    "",
    " leading space",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_scalar_round_trips(value):
    parsed = yaml.safe_load(f"key: {yaml_scalar(value)}\n")
    assert parsed == {"key": value}


def test_block_round_trips_nested_hostile_data():
    data = {"a": [{"b": v, v or "empty": [v, 1, True, None]} for v in HOSTILE], "n": {}, "l": []}
    assert yaml.safe_load("root:\n" + yaml_block(data, 2) + "\n") == {"root": data}


def _hostile_intent(value: str) -> str:
    v = json.dumps(value)
    return f"""\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {{name: evil}}
spec:
  defaults: {{namespace: evil}}
  services:
    - name: api
      ports: [{{name: http, port: 8080}}]
      versions: [{{name: v1, weight: 100}}, {{name: v2, weight: 0}}]
      routes:
        - match:
            headers: {{x-user: {{exact: {v}}}, x-team: {{regex: {v}}}}}
            path: {{prefix: {json.dumps('/' + value)}}}
            queryParams: {{q: {{exact: {v}}}}}
          version: v2
      requestAuthentication:
        issuer: {v}
        jwksUri: {json.dumps('https://idp.example.com/' + urllib.parse.quote(value))}
        audiences: [{v}]
        requiredClaims: {{groups: [{v}]}}
      allowFrom:
        - service: api
          paths: [{json.dumps('/' + value.replace('*', ''))}]
"""


# Strings the intent refuses (issue 18): control characters and line breaks in any free-form field.
REFUSED = ["a\nkind: Secret", "tab\there", "del\x7f", "c1\x80", "nel\x85", "ls\u2028", "ps\u2029", "trailing\n"]


@pytest.mark.parametrize("value", REFUSED)
def test_control_characters_are_refused_in_every_free_form_string(tmp_path, value):
    with pytest.raises(IntentError) as caught:
        load_intent(write_intent(tmp_path, _hostile_intent(value)))
    fields = {p.field for p in caught.value.problems}
    for field in ("match.headers.x-user.exact", "match.headers.x-team.regex", "match.path.prefix",
                  "match.queryParams.q.exact", "requestAuthentication.issuer", "requestAuthentication.audiences[0]",
                  "requestAuthentication.requiredClaims.groups[0]", "allowFrom[0].paths[0]"):
        assert any(f.endswith(field) for f in fields), (field, fields)
    assert all("control character or line break" in p.message for p in caught.value.problems)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
@pytest.mark.parametrize("value", [v for v in HOSTILE if v and v not in REFUSED])
def test_hostile_strings_cannot_inject(tmp_path, platform, value):
    intent = load_intent(write_intent(tmp_path, _hostile_intent(value)))
    rendering = render(intent, platform, "intent.yaml")
    docs = list(yaml.safe_load_all(rendering.stream))
    # Exactly the planned objects came out: no document was added or split by a value.
    assert len(docs) == len(rendering.plan.objects)
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [(o.kind, o.name) for o in rendering.plan.objects]
    # And the hostile value survives verbatim somewhere (it was carried, not mangled or dropped): in an
    # object, or in the finding that names it where the platform cannot express it (no mesh: the JWT issuer).
    carried = value in json.dumps(docs, ensure_ascii=False) or json.dumps(value)[1:-1] in json.dumps(docs)
    assert carried or any(value in f.detail for f in rendering.plan.findings)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_two_renders_are_identical(platform):
    example = REPO / "examples" / "online-boutique" / "intent.yaml"
    first = render(load_intent(example), platform, "x").stream
    second = render(load_intent(example), platform, "x").stream
    assert first == second


SCRIPT = """
import sys
from pathlib import Path
from meshgen import load_intent, render
for example in sorted(Path("examples").glob("*/intent.yaml")):
    for platform in sorted(__import__("meshgen").PLATFORMS):
        sys.stdout.write(render(load_intent(example), platform, example.as_posix()).stream)
"""


def test_output_independent_of_hash_seed():
    outputs = []
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, check=True)
        outputs.append(result.stdout)
    assert outputs[0] and outputs[0] == outputs[1] == outputs[2]
