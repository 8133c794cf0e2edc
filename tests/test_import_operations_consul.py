"""mesh.ca, mesh.controlPlane and spec.telemetry read back on Consul (issue 14;
meshgen/platforms/consul/operations_import.py): values/consul.yaml, the PodMonitor, the
PrometheusRule and the ProxyDefaults ``global``'s accessLogs and tracing config.

production-identity is rendered on Consul (``--allow-loss``: cert-manager is no Consul CA
provider, Consul has no sampling rate), one value is changed by hand, and the import must read it
or name exactly that field (file:line, path) as LOST. Lines are read off the rendered files
(tests/snapshots hold them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.importing.run import import_manifests
from tests.test_import_operations import EXAMPLE, _changed, _losses
from tests.workflow_helpers import run

VALUES = "values/consul.yaml"
PROXY_DEFAULTS = "consul/proxydefaults-global.yaml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render")
    assert run("render", EXAMPLE, "--platform", "consul", "--allow-loss", "--output", out).exit_code == 0
    return out / "consul"


def test_production_identity_reads_back_what_the_intent_said(rendered):
    """Hand-read from examples/production-identity/intent.yaml: 3 servers are also what the
    default renders (so replicas stays unset), the built-in CA's ca_config carries the lifetimes
    (only issuerLifetime 2160h differs from the defaults), and Consul has no sampling rate."""
    result = import_manifests([rendered])
    assert result.losses == ()
    spec = yaml.safe_load(result.text)["spec"]
    assert spec["mesh"]["ca"] == {"issuerLifetime": "2160h"}
    assert "controlPlane" not in spec["mesh"]
    assert spec["telemetry"] == {
        "monitorLabels": {"release": "kube-prometheus-stack"},
        "alerts": {"namespace": "monitoring", "labels": {"release": "kube-prometheus-stack"}, "errorRatePercent": 2, "certificateExpiryDays": 21},
        "accessLogs": {"enabled": True, "format": "json"},
        "tracing": {"endpoint": "otel-collector.observability.svc.cluster.local:4317"},
    }


def test_five_servers_are_read(tmp_path, rendered):
    folder = _changed(tmp_path, rendered, VALUES, "  bootstrapExpect: 3\n", "  bootstrapExpect: 5\n")
    folder = _changed(tmp_path / "again", folder, VALUES, "  replicas: 3\n", "  replicas: 5\n")
    result = import_manifests([folder])
    assert result.losses == ()
    assert yaml.safe_load(result.text)["spec"]["mesh"]["controlPlane"] == {"replicas": 5}


def test_a_values_key_the_intent_does_not_write_is_lost(tmp_path, rendered):
    folder = _changed(tmp_path, rendered, VALUES, "  replicas: 3\n", "  replicas: 3\n  storage: 20Gi\n")
    result = import_manifests([folder])
    assert _losses(result, folder) == {(VALUES, 39, "Helm values hashicorp/consul", "server.storage")}


def test_an_access_log_format_of_its_own_is_lost(tmp_path, rendered):
    folder = _changed(tmp_path, rendered, PROXY_DEFAULTS, "    type: stdout\n", "    type: stdout\n    textFormat: \"%START_TIME%\\n\"\n")
    result = import_manifests([folder])
    assert _losses(result, folder) == {(PROXY_DEFAULTS, 18, "ProxyDefaults consul/global", "spec.accessLogs.textFormat")}
    assert "accessLogs" not in yaml.safe_load(result.text)["spec"]["telemetry"]


def test_a_second_proxy_defaults_telemetry_is_lost(tmp_path, rendered):
    """The intent has one ProxyDefaults global: a copy in another namespace is not read silently."""
    folder = _changed(tmp_path, rendered, PROXY_DEFAULTS, "  name: global\n", "  name: global\n")
    text = (folder / PROXY_DEFAULTS).read_text().replace("  namespace: consul\n", "  namespace: other\n")
    (folder / "other").mkdir()
    (folder / "other/proxydefaults-global.yaml").write_text(text)
    result = import_manifests([folder])
    assert _losses(result, folder) == {
        ("other/proxydefaults-global.yaml", 12, "ProxyDefaults other/global", "spec.config"),
        ("other/proxydefaults-global.yaml", 15, "ProxyDefaults other/global", "spec.accessLogs"),
    }
