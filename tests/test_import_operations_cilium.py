"""mesh.ca, mesh.controlPlane, spec.telemetry and the cilium chart's mesh settings read back on
Cilium (issue 14; meshgen/platforms/cilium/operations_import.py).

production-identity is rendered on Cilium (``--allow-loss``: tracing and the gRPC timeout have
no Cilium API), one value of values/cilium.yaml is changed by hand, and the import must read it
into the intent or name exactly that field (file:line, path) as LOST. Lines are read off the
rendered file (tests/snapshots hold it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.importing.run import import_manifests
from tests.test_import_operations import EXAMPLE, _changed, _losses
from tests.workflow_helpers import run

VALUES = "values/cilium.yaml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render")
    assert run("render", EXAMPLE, "--platform", "cilium", "--allow-loss", "--output", out).exit_code == 0
    return out / "cilium"


def test_production_identity_reads_back_what_the_intent_said(rendered):
    """Hand-read from examples/production-identity/intent.yaml. On Cilium the SPIRE server keeps
    its own lifetimes (reported by the render), so only the root chain's renewBefore is written;
    the chart has no operator autoscaling (no maxReplicas) and Cilium makes no spans (no tracing)."""
    result = import_manifests([rendered])
    assert result.losses == ()
    spec = yaml.safe_load(result.text)["spec"]
    assert spec["mesh"]["ca"] == {"type": "cert-manager", "renewBefore": "720h"}
    assert spec["mesh"]["controlPlane"] == {"replicas": 3}
    assert "encryption" not in spec["mesh"] and "enforcement" not in spec["mesh"]  # wireguard, enforce: the defaults
    assert spec["telemetry"] == {
        "alerts": {"namespace": "monitoring", "labels": {"release": "kube-prometheus-stack"}, "errorRatePercent": 2, "certificateExpiryDays": 21},
        "monitorLabels": {"release": "kube-prometheus-stack"},
        "accessLogs": {"enabled": True, "format": "json"},
    }


def test_mesh_settings_of_the_values_are_read(tmp_path, rendered):
    """encryption.type ipsec and policyAuditMode: true are intent fields (mesh.encryption, mesh.enforcement)."""
    folder = _changed(tmp_path, rendered, VALUES, "  type: wireguard\n", "  type: ipsec\npolicyAuditMode: true\n")
    result = import_manifests([folder])
    assert result.losses == ()
    mesh = yaml.safe_load(result.text)["spec"]["mesh"]
    assert (mesh["encryption"], mesh["enforcement"]) == ("ipsec", "audit")


def test_a_values_key_the_intent_does_not_write_is_lost(tmp_path, rendered):
    folder = _changed(tmp_path, rendered, VALUES, "  type: wireguard\n", "  type: wireguard\n  nodeEncryption: true\n")
    result = import_manifests([folder])
    assert _losses(result, folder) == {(VALUES, 15, "Helm values cilium/cilium", "encryption.nodeEncryption")}


def test_relay_replicas_other_than_the_operators_are_lost(tmp_path, rendered):
    """The intent has one controlPlane.replicas (operator.replicas, 3): Hubble Relay's 5 cannot be said."""
    folder = _changed(tmp_path, rendered, VALUES, "    replicas: 3\n", "    replicas: 5\n")
    result = import_manifests([folder])
    assert _losses(result, folder) == {(VALUES, 57, "Helm values cilium/cilium", "hubble.relay.replicas")}
    assert yaml.safe_load(result.text)["spec"]["mesh"]["controlPlane"] == {"replicas": 3}
