"""Identity, HA, telemetry and alerts planned for each platform (meshgen.platforms.operations).

Linkerd and Cilium are exercised through plan_operations directly, so these tests hold whether
or not those platforms are registered in this build.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.capabilities import Feature, Support
from meshgen.loader import load_intent, parse_intent
from meshgen.platforms import get_platform
from meshgen.platforms.operations import plan_operations as _plan_operations
from meshgen.render import render_file, render_object
from tests.conftest import MINIMAL, REPO


def plan_operations(name, intent):
    """The operations plan of the platform registered as ``name``."""
    return _plan_operations(get_platform(name), intent)

PRODUCTION = REPO / "examples" / "production-identity" / "intent.yaml"


@pytest.fixture(scope="module")
def production():
    return load_intent(PRODUCTION)


def _objects(plan) -> dict[tuple[str, str | None, str], dict]:
    return {(o.kind, o.namespace, o.name): yaml.safe_load(render_object(o)) for o in plan.objects}


def _values(plan) -> dict[str, dict]:
    out = {}
    for f in plan.files:
        text = render_file(f)
        assert text.startswith("# Helm values for ")
        out[f.path] = yaml.safe_load(text)
    return out


def _intent(mesh: str = "", telemetry: str = ""):
    text = MINIMAL.replace("  defaults:\n", f"{mesh}{telemetry}  defaults:\n")
    return parse_intent(text, Path("intent.yaml"))


def _details(plan, feature: Feature) -> list[str]:
    return [f.detail for f in plan.findings if f.feature is feature]


@pytest.mark.parametrize("platform", ["istio", "linkerd", "cilium"])
def test_every_planned_object_is_accepted_by_the_crds(production, platform, crd_catalog):
    from meshgen.kube import validate_objects

    plan = plan_operations(platform, production)
    docs = list(_objects(plan).values())
    assert [str(v) for v in validate_objects(docs, crd_catalog)] == []
    assert {d["kind"] for d in docs} >= {"Certificate", "ClusterIssuer", "Issuer", "PrometheusRule"}


@pytest.mark.parametrize("platform", ["istio", "linkerd", "cilium"])
def test_mesh_ca_defaults_are_accepted_by_the_crds(platform, crd_catalog):
    from meshgen.kube import validate_objects

    plan = plan_operations(platform, _intent())
    assert [str(v) for v in validate_objects(list(_objects(plan).values()), crd_catalog)] == []


# --- Istio --------------------------------------------------------------------------------


def test_istio_cert_manager_chain(production):
    objects = _objects(plan_operations("istio", production))
    root = objects[("Certificate", "cert-manager", "istio-root-ca")]["spec"]
    assert root["isCA"] is True
    assert root["duration"] == "87600h"
    assert root["renewBefore"] == "720h"
    assert root["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    assert root["issuerRef"] == {"group": "cert-manager.io", "kind": "Issuer", "name": "istio-selfsigned"}
    assert objects[("Issuer", "cert-manager", "istio-selfsigned")]["spec"] == {"selfSigned": {}}
    assert objects[("ClusterIssuer", None, "istio-root-ca")]["spec"] == {"ca": {"secretName": "istio-root-ca"}}
    inter = objects[("Certificate", "istio-system", "istio-ca")]["spec"]
    assert (inter["duration"], inter["renewBefore"], inter["secretName"]) == ("2160h", "720h", "istio-ca")
    assert inter["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "istio-root-ca"}
    assert objects[("Issuer", "istio-system", "istio-ca")]["spec"] == {"ca": {"secretName": "istio-ca"}}
    bundle = objects[("Bundle", None, "istio-root-ca")]["spec"]
    assert bundle["sources"] == [{"secret": {"name": "istio-root-ca", "key": "ca.crt"}}]
    assert bundle["target"] == {
        "configMap": {"key": "root-cert.pem"},
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cert-manager"}},
    }


def test_istio_cert_manager_values_point_istiod_at_istio_csr(production):
    values = _values(plan_operations("istio", production))
    istiod = values["values/istiod.yaml"]
    assert istiod["global"]["caAddress"] == "cert-manager-istio-csr.cert-manager.svc:443"
    assert istiod["env"] == {"ENABLE_CA_SERVER": "false"}
    assert istiod["meshConfig"]["defaultConfig"]["proxyMetadata"] == {"SECRET_TTL": "24h"}
    csr = values["values/istio-csr.yaml"]
    assert csr["app"]["certmanager"] == {
        "namespace": "istio-system",
        "issuer": {"group": "cert-manager.io", "kind": "Issuer", "name": "istio-ca"},
    }
    assert csr["app"]["server"]["maxCertificateDuration"] == "24h"
    assert csr["app"]["tls"] == {"trustDomain": "cluster.local", "rootCAFile": "/var/run/secrets/istio-csr/root-cert.pem"}
    assert csr["volumes"] == [{"name": "root-ca", "configMap": {"name": "istio-root-ca"}}]
    assert values["values/trust-manager.yaml"] == {"app": {"trust": {"namespace": "cert-manager"}}}


def test_istio_ha_values(production):
    istiod = _values(plan_operations("istio", production))["values/istiod.yaml"]
    assert (istiod["autoscaleEnabled"], istiod["autoscaleMin"], istiod["autoscaleMax"]) == (True, 3, 5)
    assert "replicaCount" not in istiod
    assert istiod["pdb"] == {"maxUnavailable": 1}
    assert istiod["global"]["defaultPodDisruptionBudget"] == {"enabled": True}
    assert istiod["base"] == {"validationFailurePolicy": "Fail"}
    anti = istiod["affinity"]["podAntiAffinity"]
    assert anti["requiredDuringSchedulingIgnoredDuringExecution"] == [
        {"labelSelector": {"matchLabels": {"app": "istiod"}}, "topologyKey": "kubernetes.io/hostname"}
    ]
    assert anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"] == "topology.kubernetes.io/zone"
    csr = _values(plan_operations("istio", production))["values/istio-csr.yaml"]
    assert (csr["replicaCount"], csr["podDisruptionBudget"]) == (3, {"enabled": True, "maxUnavailable": 1})


def test_istio_mesh_ca_values_and_root_alert():
    plan = plan_operations("istio", _intent())
    istiod = _values(plan)["values/istiod.yaml"]
    assert istiod["env"] == {"CITADEL_SELF_SIGNED_CA_CERT_TTL": "87600h"}
    assert "caAddress" not in istiod["global"]
    assert (istiod["autoscaleEnabled"], istiod["replicaCount"]) == (False, 2)
    rule = _objects(plan)[("PrometheusRule", "shop", "shop-mesh-alerts")]
    certs = next(g for g in rule["spec"]["groups"] if g["name"] == "meshgen.istio.certificates")["rules"]
    assert certs[0]["expr"] == "(min(citadel_server_root_cert_expiry_timestamp) - time()) < 2592000"
    assert certs[1]["expr"] == '(min by (namespace, pod) (istio_agent_cert_expiry_seconds{namespace=~"shop"})) < 21600'
    assert [f for f in plan.findings if f.feature is Feature.CONTROL_PLANE_HA] == []


def test_istio_single_replica_is_reported_as_single_point_of_failure():
    plan = plan_operations("istio", _intent("  mesh:\n    controlPlane: {replicas: 1}\n"))
    (detail,) = _details(plan, Feature.CONTROL_PLANE_HA)
    assert detail.startswith("controlPlane.replicas 1: istiod runs a single replica, a single point of failure")
    istiod = _values(plan)["values/istiod.yaml"]
    assert (istiod["replicaCount"], istiod["autoscaleEnabled"]) == (1, False)
    assert "pdb" not in istiod and "affinity" not in istiod and "base" not in istiod
    assert all(f.support is Support.APPROXIMATED for f in plan.findings)


def test_istio_telemetry_resource(production):
    plan = plan_operations("istio", production)
    tel = _objects(plan)[("Telemetry", "istio-system", "mesh-default")]["spec"]
    assert tel == {
        "tracing": [{"providers": [{"name": "otel"}], "randomSamplingPercentage": 10.0}],
        "accessLogging": [{"providers": [{"name": "envoy"}]}],
    }
    mesh_config = _values(plan)["values/istiod.yaml"]["meshConfig"]
    assert mesh_config["extensionProviders"] == [
        {"name": "otel", "opentelemetry": {"service": "otel-collector.observability.svc.cluster.local", "port": 4317}}
    ]
    assert (mesh_config["accessLogFile"], mesh_config["accessLogEncoding"]) == ("/dev/stdout", "JSON")


def test_istio_monitors(production):
    objects = _objects(plan_operations("istio", production))
    pods = objects[("PodMonitor", "shop", "istio-proxies")]
    assert pods["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert pods["spec"]["podMetricsEndpoints"][0]["path"] == "/stats/prometheus"
    istiod = objects[("ServiceMonitor", "istio-system", "istiod")]["spec"]
    assert istiod["selector"] == {"matchLabels": {"istio": "pilot"}}
    assert istiod["endpoints"] == [{"port": "http-monitoring", "interval": "15s"}]


def test_istio_service_alerts_use_istio_metrics(production):
    rule = _objects(plan_operations("istio", production))[("PrometheusRule", "monitoring", "shop-mesh-alerts")]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    services = rule["spec"]["groups"][0]["rules"]
    by = {(r["alert"], r["labels"]["service"]): r for r in services}
    sel = 'reporter="destination",destination_service="api.shop.svc.cluster.local"'
    assert by[("MeshServiceErrorRateHigh", "api")]["expr"] == (
        f'(sum(rate(istio_requests_total{{{sel},response_code=~"5.."}}[5m]))) / '
        f"(sum(rate(istio_requests_total{{{sel}}}[5m]))) > 0.02"
    )
    assert by[("MeshServiceLatencyAboveTimeout", "api")]["expr"] == (
        f"histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{{{sel}}}[5m]))) > 2000"
    )
    grpc = by[("MeshServiceErrorRateHigh", "payments")]["expr"]
    assert 'grpc_response_status=~"2|4|12|13|14|15"' in grpc
    cp = next(g for g in rule["spec"]["groups"] if g["name"] == "meshgen.istio.control-plane")["rules"]
    assert [r["expr"] for r in cp if r["alert"] == "MeshControlPlaneDown"] == [
        'sum by (namespace, deployment) (kube_deployment_status_replicas_available{namespace="istio-system",deployment=~"istiod"}) == 0',
        'sum by (namespace, deployment) (kube_deployment_status_replicas_available{namespace="cert-manager",deployment=~"cert-manager-istio-csr"}) == 0',
    ]
    certs = next(g for g in rule["spec"]["groups"] if g["name"] == "meshgen.istio.certificates")["rules"]
    assert [r["expr"] for r in certs][:2] == [
        '(certmanager_certificate_expiration_timestamp_seconds{namespace="cert-manager",name="istio-root-ca"} - time()) < 1296000',
        '(certmanager_certificate_expiration_timestamp_seconds{namespace="istio-system",name="istio-ca"} - time()) < 1296000',
    ]


def test_alerts_can_be_turned_off():
    plan = plan_operations("istio", _intent(telemetry="  telemetry:\n    alerts: {enabled: false}\n"))
    assert "PrometheusRule" not in {o.kind for o in plan.objects}


# --- Linkerd ------------------------------------------------------------------------------


def test_linkerd_cert_manager_recipe(production):
    plan = plan_operations("linkerd", production)
    objects = _objects(plan)
    anchor = objects[("Certificate", "cert-manager", "linkerd-trust-anchor")]["spec"]
    assert (anchor["commonName"], anchor["duration"], anchor["renewBefore"]) == ("root.linkerd.cluster.local", "87600h", "720h")
    assert anchor["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    assert objects[("ClusterIssuer", None, "linkerd-identity-issuer")]["spec"] == {"ca": {"secretName": "linkerd-trust-anchor"}}
    issuer = objects[("Certificate", "linkerd", "linkerd-identity-issuer")]["spec"]
    assert (issuer["commonName"], issuer["dnsNames"]) == ("identity.linkerd.cluster.local", ["identity.linkerd.cluster.local"])
    assert (issuer["duration"], issuer["renewBefore"], issuer["isCA"]) == ("2160h", "720h", True)
    assert issuer["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "linkerd-identity-issuer"}
    bundle = objects[("Bundle", None, "linkerd-identity-trust-roots")]["spec"]
    assert bundle["sources"] == [{"secret": {"name": "linkerd-trust-anchor", "key": "tls.crt"}}]
    assert bundle["target"]["configMap"] == {"key": "ca-bundle.crt"}
    assert bundle["target"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "linkerd"}}
    values = _values(plan)["values/linkerd-control-plane.yaml"]
    assert values["identity"] == {"externalCA": True, "issuer": {"scheme": "kubernetes.io/tls", "issuanceLifetime": "24h"}}


def test_linkerd_ha_values(production):
    plan = plan_operations("linkerd", production)
    values = _values(plan)["values/linkerd-control-plane.yaml"]
    assert values["controllerReplicas"] == 3
    assert values["enablePodAntiAffinity"] is True
    assert values["enablePodDisruptionBudget"] is True
    assert values["controller"] == {"podDisruptionBudget": {"maxUnavailable": 1}}
    assert values["webhookFailurePolicy"] == "Fail"
    assert _details(plan, Feature.CONTROL_PLANE_HA) == [
        "the linkerd-control-plane chart has no autoscaling values: maxReplicas 5 is not applied, the control plane runs a fixed 3 replicas"
    ]


def test_linkerd_mesh_ca_warns_loudly_and_alerts_on_issuer_expiry():
    plan = plan_operations("linkerd", _intent())
    warnings = [d for d in _details(plan, Feature.CA_MESH) if d.startswith("WARNING")]
    assert len(warnings) == 1
    assert "expire after 365 days; nothing rotates them, and when they expire every meshed connection fails at once" in warnings[0]
    assert "rotate them by hand when the MeshCertificateExpiringSoon alert (certificate=issuer) fires, 30 days before" in warnings[0]
    assert all(f.support is not Support.NOT_EXPRESSIBLE for f in plan.findings)  # render does not refuse
    rule = _objects(plan)[("PrometheusRule", "shop", "shop-mesh-alerts")]
    certs = next(g for g in rule["spec"]["groups"] if g["name"] == "meshgen.linkerd.certificates")["rules"]
    issuer = next(r for r in certs if r["labels"]["certificate"] == "issuer")
    assert issuer["expr"] == '(min(issuer_cert_ttl_seconds{namespace="linkerd"})) < 2592000'
    assert issuer["annotations"]["summary"] == "Linkerd identity issuer (made once, never rotated) expires in less than 30d"
    workload = next(r for r in certs if r["labels"]["certificate"] == "workload")
    assert workload["expr"] == (
        '(min by (namespace, pod) (identity_cert_expiration_timestamp_seconds{namespace=~"shop"}) - time()) < 21600'
    )
    assert not any(o.kind in ("Certificate", "Bundle") for o in plan.objects)
    assert _values(plan)["values/linkerd-control-plane.yaml"]["identity"] == {"issuer": {"issuanceLifetime": "24h"}}


def test_linkerd_single_replica_keeps_injector_fail_open():
    plan = plan_operations("linkerd", _intent("  mesh:\n    controlPlane: {replicas: 1}\n"))
    values = _values(plan)["values/linkerd-control-plane.yaml"]
    assert (values["controllerReplicas"], values["webhookFailurePolicy"], values["enablePodDisruptionBudget"]) == (1, "Ignore", False)
    (detail,) = _details(plan, Feature.CONTROL_PLANE_HA)
    assert "a single point of failure" in detail


def test_linkerd_service_alerts_use_route_metrics(production):
    rule = _objects(plan_operations("linkerd", production))[("PrometheusRule", "monitoring", "shop-mesh-alerts")]
    by = {(r["alert"], r["labels"]["service"]): r["expr"] for r in rule["spec"]["groups"][0]["rules"]}
    assert by[("MeshServiceLatencyAboveTimeout", "api")] == (
        "histogram_quantile(0.99, sum by (le) (rate(outbound_http_route_request_duration_seconds_bucket"
        '{parent_namespace="shop",parent_name="api"}[5m]))) > 2'
    )
    assert 'outbound_grpc_route_request_statuses_total{parent_namespace="shop",parent_name="payments",grpc_status=~"UNKNOWN|' in by[
        ("MeshServiceErrorRateHigh", "payments")
    ]
    cp = next(g for g in rule["spec"]["groups"] if g["name"] == "meshgen.linkerd.control-plane")["rules"]
    assert cp[0]["expr"] == (
        'sum by (namespace, deployment) (kube_deployment_status_replicas_available{namespace="linkerd",'
        'deployment=~"linkerd-destination|linkerd-identity|linkerd-proxy-injector"}) == 0'
    )


def test_linkerd_monitors_and_tracing(production):
    plan = plan_operations("linkerd", production)
    objects = _objects(plan)
    assert objects[("PodMonitor", "shop", "linkerd-proxies")]["spec"]["podMetricsEndpoints"] == [
        {"port": "linkerd-admin", "path": "/metrics", "interval": "15s"}
    ]
    assert objects[("PodMonitor", "linkerd", "linkerd-controllers")]["spec"]["podMetricsEndpoints"][0]["port"] == "admin-http"
    values = _values(plan)["values/linkerd-control-plane.yaml"]
    assert values["proxy"]["tracing"] == {"enabled": True, "collector": {"endpoint": "otel-collector.observability.svc.cluster.local:4317"}}
    (tracing,) = _details(plan, Feature.TRACING)
    assert tracing.startswith("samplingPercent 10 is not applied")


# --- Cilium -------------------------------------------------------------------------------


def test_cilium_values(production):
    plan = plan_operations("cilium", production)
    values = _values(plan)["values/cilium.yaml"]
    assert values["encryption"] == {"enabled": True, "type": "wireguard"}
    assert values["authentication"]["mutual"]["spire"] == {"enabled": True, "install": {"enabled": True}, "trustDomain": "cluster.local"}
    assert values["operator"]["replicas"] == 3
    assert values["operator"]["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    assert values["hubble"]["tls"]["auto"] == {
        "enabled": True,
        "method": "certmanager",
        "certManagerIssuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "cilium-root-ca"},
    }
    assert values["hubble"]["relay"]["replicas"] == 3
    assert values["hubble"]["export"]["static"]["enabled"] is True


def test_cilium_findings(production):
    plan = plan_operations("cilium", production)
    lost = {(f.feature, f.detail) for f in plan.findings if f.support is Support.NOT_EXPRESSIBLE}
    assert {f for f, _ in lost} == {Feature.CA_CERT_MANAGER, Feature.TRACING}
    assert (
        "Cilium mutual authentication (SPIRE) is deprecated from Cilium 1.20 and planned for removal in 1.21 "
        "(cilium/cilium#47132); these values target the 1.19 chart"
    ) in _details(plan, Feature.CA_SPIRE)


def test_cilium_mesh_ca_uses_rotating_hubble_certificates():
    plan = plan_operations("cilium", _intent("  mesh:\n    encryption: ipsec\n"))
    values = _values(plan)["values/cilium.yaml"]
    assert values["hubble"]["tls"]["auto"] == {"enabled": True, "method": "cronJob"}
    assert values["encryption"] == {"enabled": True, "type": "ipsec"}
    assert any("cilium-ipsec-keys" in d for d in _details(plan, Feature.MTLS_STRICT))
    assert not any(o.kind == "Certificate" for o in plan.objects)


def test_cilium_service_alerts_use_hubble_metrics(production):
    rule = _objects(plan_operations("cilium", production))[("PrometheusRule", "monitoring", "shop-mesh-alerts")]
    by = {(r["alert"], r["labels"]["service"]): r["expr"] for r in rule["spec"]["groups"][0]["rules"]}
    assert by[("MeshServiceLatencyAboveTimeout", "web")] == (
        "histogram_quantile(0.99, sum by (le) (rate(hubble_http_request_duration_seconds_bucket"
        '{destination_namespace="shop",destination_workload=~"web(-.+)?"}[5m]))) > 10'
    )


def test_tcp_only_service_gets_no_request_alert():
    text = MINIMAL.replace("        - {name: http, port: 8080}\n", "        - {name: db, port: 5432, protocol: tcp}\n")
    plan = plan_operations("istio", parse_intent(text, Path("intent.yaml")))
    assert [f.detail for f in plan.findings if f.subject == "shop/api"] == [
        "only TCP/UDP ports: the mesh records no requests, so there is no error-rate or latency alert"
    ]


def test_plans_are_deterministic(production):
    for platform in ("istio", "linkerd", "cilium"):
        first = [render_object(o) for o in plan_operations(platform, production).objects]
        again = [render_object(o) for o in plan_operations(platform, production).objects]
        assert first == again


def test_combine_puts_linkerd_access_log_annotation_on_the_platform_namespaces():
    from meshgen.platforms.base import Plan, PlannedObject
    from meshgen.platforms.operations import combine

    intent = _intent(telemetry="  telemetry:\n    accessLogs: {enabled: true, format: text}\n")
    namespace = PlannedObject("core/namespace.yaml.j2", "v1", "Namespace", "shop", None, {"labels": {}})
    merged = combine(get_platform("linkerd"), Plan("linkerd", (namespace,)), intent)
    (ns,) = [o for o in merged.objects if o.kind == "Namespace"]
    assert ns.values["annotations"] == {"config.linkerd.io/access-log": "apache"}
    assert "PrometheusRule" in {o.kind for o in merged.objects}
    # Without the Namespace in the platform's plan, the user is told to annotate it.
    bare = combine(get_platform("linkerd"), Plan("linkerd", ()), intent)
    assert "meshgen does not create namespace shop: annotate it with config.linkerd.io/access-log: apache" in [
        f.detail for f in bare.findings
    ]
