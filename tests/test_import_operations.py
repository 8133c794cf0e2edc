"""mesh.ca, mesh.controlPlane and spec.telemetry read back on Istio and Linkerd (issue 14).

production-identity is rendered, one field of one file is changed by hand to something the
intent cannot say, and the import must name exactly that field (file:line, kind/name, path) as
LOST, never drop it silently. Lines are read off the rendered files (tests/snapshots hold them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.importing.run import import_manifests
from tests.workflow_helpers import run

EXAMPLE = "examples/production-identity/intent.yaml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("render")
    for platform in ("istio", "linkerd"):
        assert run("render", EXAMPLE, "--platform", platform, "--output", out).exit_code == 0
    return {"istio": out / "istio", "linkerd": out / "linkerd"}


def _changed(tmp_path: Path, folder: Path, file: str, old: str, new: str) -> Path:
    """A copy of ``folder`` with ``old`` replaced by ``new`` (exactly once) in ``file``."""
    copy = tmp_path / folder.name
    for path in folder.rglob("*"):
        if path.is_file():
            target = copy / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    target = copy / file
    text = target.read_text()
    assert text.count(old) == 1, (file, old)
    target.write_text(text.replace(old, new))
    return copy


def _losses(result, folder: Path) -> set[tuple[str, int, str, str]]:
    return {(str(Path(f.file).relative_to(folder)), f.line, f.ref, f.field) for f in result.losses}


def test_production_identity_reads_back_what_the_intent_said(rendered):
    """Hand-read from examples/production-identity/intent.yaml; certificateExpiryDays 21 reads as
    15: every alert threshold is bounded by renewBefore 720h / 2 = 15 days, and 15 renders the same."""
    spec = yaml.safe_load(import_manifests([rendered["istio"]]).text)["spec"]
    assert spec["mesh"]["ca"] == {"type": "cert-manager", "issuerLifetime": "2160h", "renewBefore": "720h"}
    assert spec["mesh"]["controlPlane"] == {"replicas": 3, "maxReplicas": 5}
    assert spec["telemetry"] == {
        "tracing": {"samplingPercent": 10, "endpoint": "otel-collector.observability.svc.cluster.local:4317"},
        "accessLogs": {"enabled": True, "format": "json"},
        "monitorLabels": {"release": "kube-prometheus-stack"},
        "alerts": {"namespace": "monitoring", "errorRatePercent": 2, "certificateExpiryDays": 15, "labels": {"release": "kube-prometheus-stack"}},
    }
    linkerd = yaml.safe_load(import_manifests([rendered["linkerd"]]).text)["spec"]
    # Linkerd's chart has no autoscaling and no sampling rate: maxReplicas and samplingPercent are not in its manifests
    assert linkerd["mesh"]["controlPlane"] == {"replicas": 3}
    assert linkerd["telemetry"]["tracing"] == {"endpoint": "otel-collector.observability.svc.cluster.local:4317"}
    assert linkerd["telemetry"]["accessLogs"] == {"enabled": True, "format": "json"}


def test_a_certificate_duration_finer_than_a_millisecond_is_lost(tmp_path, rendered):
    folder = _changed(tmp_path, rendered["istio"], "istio-system/certificate-istio-ca.yaml", "duration: 2160h", "duration: 2160h0m0.0005s")
    result = import_manifests([folder])
    assert _losses(result, folder) == {("istio-system/certificate-istio-ca.yaml", 17, "Certificate istio-system/istio-ca", "spec.duration")}
    assert "not a duration the intent can hold" in result.losses[0].message


def test_a_duration_as_kubectl_prints_it_is_the_same_duration(tmp_path, rendered):
    """metav1.Duration is written back as 2160h0m0s by the API server: not a difference."""
    folder = _changed(tmp_path, rendered["istio"], "istio-system/certificate-istio-ca.yaml", "duration: 2160h", "duration: 2160h0m0s")
    result = import_manifests([folder])
    assert result.losses == ()
    assert yaml.safe_load(result.text)["spec"]["mesh"]["ca"]["issuerLifetime"] == "2160h"


def test_a_certificate_key_the_intent_does_not_write_is_lost(tmp_path, rendered):
    folder = _changed(tmp_path, rendered["linkerd"], "cert-manager/certificate-linkerd-trust-anchor.yaml", "algorithm: ECDSA", "algorithm: RSA")
    result = import_manifests([folder])
    assert _losses(result, folder) == {("cert-manager/certificate-linkerd-trust-anchor.yaml", 20, "Certificate cert-manager/linkerd-trust-anchor", "spec.privateKey.algorithm")}


def test_an_access_log_provider_the_intent_does_not_know_is_lost(tmp_path, rendered):
    """Istio's OpenTelemetry access-log provider is not the intent's (Envoy's own file log): the
    Telemetry names it, and the encoding and file in istiod's values that only access logs use
    are lost with it."""
    folder = _changed(tmp_path, rendered["istio"], "istio-system/telemetry-mesh-default.yaml", "- name: envoy", "- name: otel-als")
    result = import_manifests([folder])
    assert _losses(result, folder) == {
        ("istio-system/telemetry-mesh-default.yaml", 17, "Telemetry istio-system/mesh-default", "spec.accessLogging[0].providers[0].name"),
        ("values/istiod.yaml", 30, "Helm values istio/istiod", "meshConfig.accessLogEncoding"),
        ("values/istiod.yaml", 31, "Helm values istio/istiod", "meshConfig.accessLogFile"),
    }
    assert "accessLogs" not in yaml.safe_load(result.text)["spec"]["telemetry"]
    assert "access-log provider otel-als" in next(f.message for f in result.losses if f.line == 17)


def test_a_values_key_the_intent_does_not_write_is_lost(tmp_path, rendered):
    folder = _changed(tmp_path, rendered["istio"], "values/istiod.yaml", "  trustDomain: cluster.local\n", "  trustDomain: cluster.local\n  enableAutoMtls: false\n")
    result = import_manifests([folder])
    assert _losses(result, folder) == {("values/istiod.yaml", 41, "Helm values istio/istiod", "meshConfig.enableAutoMtls")}


def test_monitors_with_other_labels_are_lost(tmp_path, rendered):
    """monitorLabels is one set for every monitor: the ServiceMonitor's other release is named."""
    folder = _changed(tmp_path, rendered["istio"], "istio-system/servicemonitor-istiod.yaml", "release: kube-prometheus-stack", "release: other")
    result = import_manifests([folder])
    assert _losses(result, folder) == {("istio-system/servicemonitor-istiod.yaml", 10, "ServiceMonitor istio-system/istiod", "metadata.labels.release")}


def test_an_access_log_format_linkerd_does_not_have_is_lost(tmp_path, rendered):
    folder = _changed(tmp_path, rendered["linkerd"], "_cluster/namespace-shop.yaml", "access-log: json", "access-log: logfmt")
    result = import_manifests([folder])
    assert _losses(result, folder) == {("_cluster/namespace-shop.yaml", 10, "Namespace shop", "metadata.annotations.config.linkerd.io/access-log")}


def test_a_tracing_provider_of_a_kind_the_intent_does_not_know_is_lost(tmp_path, rendered):
    """The intent's tracing endpoint is an OpenTelemetry (OTLP gRPC) collector: a Zipkin extension
    provider under the same name is not one, so istiod's provider entry is named lost (line 35)."""
    folder = _changed(tmp_path, rendered["istio"], "values/istiod.yaml", "      opentelemetry:", "      zipkin:")
    result = import_manifests([folder])
    assert _losses(result, folder) == {("values/istiod.yaml", 35, "Helm values istio/istiod", "meshConfig.extensionProviders")}
    assert "endpoint" not in yaml.safe_load(result.text)["spec"]["telemetry"]["tracing"]
