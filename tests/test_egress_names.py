"""Egress hosts whose object names would meet (found by benchmarks/fuzz.py on Consul).

``object_name`` folds dots into dashes, so ``a-b.example.com`` and ``a.b-example.com`` met as
``egress-a-b-example-com`` and the planner stopped with a traceback. A port listed twice did the
same wherever an object is written per port.
"""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from meshgen.cli import app
from meshgen.platforms import PLATFORMS
from tests.conftest import write_intent

INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: shop}
spec:
  platform: istio
  services:
    - name: api
      ports: [{name: http, port: 80}]
  egress:
    - {host: api.example.com, ports: [80], protocol: http}
    - {host: a-b.example.com}
    - {host: a.b-example.com}
"""


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_colliding_egress_hosts_render_as_distinct_objects(platform, tmp_path):
    path = write_intent(tmp_path, INTENT)
    result = CliRunner().invoke(app, ["render", str(path), "-p", platform, "--allow-loss"])
    assert result.exit_code == 0, result.stderr
    keys = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in yaml.safe_load_all(result.stdout)]
    assert len(keys) == len(set(keys))
    names = {name for _, _, name in keys if name.startswith("egress-")}
    if names:  # platforms writing one object per host (and port) keep an unambiguous name plain
        assert any(name in ("egress-api-example-com", "egress-api-example-com-80") for name in names)
        assert "egress-a-b-example-com" not in names and "egress-a-b-example-com-443" not in names


def test_istio_names_hand_checked(tmp_path):
    path = write_intent(tmp_path, INTENT)
    out = CliRunner().invoke(app, ["render", str(path), "-p", "istio"]).stdout
    entries = {d["spec"]["hosts"][0]: d["metadata"]["name"] for d in yaml.safe_load_all(out) if d["kind"] == "ServiceEntry"}
    # sha256("egress\0a-b.example.com")[:8] and sha256("egress\0a.b-example.com")[:8]
    assert entries == {
        "api.example.com": "egress-api-example-com",
        "a-b.example.com": "egress-a-b-example-com-70362d1f",
        "a.b-example.com": "egress-a-b-example-com-8e3d0458",
    }


def test_a_port_listed_twice_is_an_error_with_its_position(tmp_path):
    path = write_intent(tmp_path, INTENT.replace("{host: a.b-example.com}", "{host: a.b-example.com, ports: [443, 8443, 443]}"))
    result = CliRunner().invoke(app, ["render", str(path)])
    assert result.exit_code == 1
    assert "intent.yaml:12:" in result.stderr and "spec.egress[2].ports" in result.stderr
    assert "port 443 is listed more than once" in result.stderr


@pytest.mark.parametrize("ports", ["[]", "[0]", "[65536]"])
def test_egress_ports_are_real_ports(ports, tmp_path):
    path = write_intent(tmp_path, INTENT.replace("{host: a.b-example.com}", f"{{host: a.b-example.com, ports: {ports}}}"))
    result = CliRunner().invoke(app, ["render", str(path)])
    assert result.exit_code == 1 and "spec.egress[2].ports" in result.stderr
