"""What every Consul planner shares: the API version, Consul service names, protocols.

Consul identifies a workload by its *Consul service name*: on Kubernetes, the name of the
Kubernetes Service that selects the pod (https://developer.hashicorp.com/consul/docs/connect/k8s,
"Service names"). Intentions, routers, splitters and resolvers are all keyed by that name, and
with ACLs on (meshgen's Helm values turn them on) the pod's ServiceAccount must carry the same
name. Consul CE has one Consul namespace, so config entries of every Kubernetes namespace share
one name space: two intent services of the same name in different namespaces are one Consul
service (reported by :func:`name_collisions`).
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import Gateway, MeshIntent, Port, Service
from meshgen.platforms import sections

API = "consul.hashicorp.com/v1alpha1"
PLATFORM = "consul"
#: Where the consul chart is installed unless ``mesh.controlPlane.namespace`` says otherwise.
CONTROL_PLANE_NAMESPACE = "consul"
#: GatewayClass the consul-k8s gateway-resources job creates (charts/consul/templates/gateway-resources-job.yaml).
GATEWAY_CLASS = "consul"
#: Service metadata key a ServiceResolver subset filters on; pods set it with the annotation below.
VERSION_META = "version"
#: Pod annotation that puts ``key: value`` into the Consul service instance's metadata
#: (consul-k8s ``control-plane/connect-inject/constants/annotations_and_labels.go``, AnnotationMeta).
META_ANNOTATION = "consul.hashicorp.com/service-meta-"
#: Namespace label meshgen's Helm values select for injection (connectInject.namespaceSelector).
INJECT_LABEL = "meshgen.dev/consul-inject"

#: Intent port protocol -> ServiceDefaults ``protocol`` (tls is opaque TCP to the mesh).
PROTOCOL = {"http": "http", "http2": "http2", "grpc": "grpc", "tcp": "tcp", "tls": "tcp"}


def control_plane_namespace(intent: MeshIntent) -> str:
    """Where the consul chart runs: ``mesh.controlPlane.namespace`` or ``consul``."""
    return sections.control_plane_namespace(intent, CONTROL_PLANE_NAMESPACE)


def mesh_port(svc: Service) -> Port:
    """The one port Consul CE registers for ``svc``: the first (consul-k8s registers the first
    container port unless ``consul.hashicorp.com/connect-service-port`` says otherwise; multi-port
    services need Consul Enterprise, https://developer.hashicorp.com/consul/docs/connect/k8s/multiport)."""
    return svc.ports[0]


def protocol(svc: Service) -> str | None:
    """The service's ServiceDefaults ``protocol`` (from its mesh port), None for UDP (not proxied)."""
    return PROTOCOL.get(mesh_port(svc).protocol)


def is_l7(svc: Service) -> bool:
    """Whether Consul parses the service's requests (routers, splitters, L7 intentions need it)."""
    return protocol(svc) in ("http", "http2", "grpc")


def subject(svc: Service) -> str:
    """How findings name a service: ``namespace/name``."""
    return f"{svc.namespace}/{svc.name}"


def gateway_service_name(gw: Gateway) -> str:
    """The Consul service name a gateway's proxies register as.

    consul-k8s registers an API gateway (class ``consul``) under the Gateway's own name; another
    implementation's pods join the mesh like any workload, under their service account's name.
    """
    if (gw.class_name or GATEWAY_CLASS) == GATEWAY_CLASS:
        return gw.name
    return gw.service_account or gw.name


def name_collisions(intent: MeshIntent, report: Report) -> set[str]:
    """Report services whose name another namespace reuses; return those names.

    Consul CE has a single Consul namespace: ``api`` in ``shop`` and ``api`` in ``billing`` are one
    Consul service with one set of intentions, routes and defaults.
    """
    seen: dict[str, list[Service]] = {}
    for svc in intent.spec.services:
        seen.setdefault(svc.name, []).append(svc)
    clashing = {name for name, svcs in seen.items() if len(svcs) > 1}
    for name in sorted(clashing):
        where = ", ".join(sorted(subject(s) for s in seen[name]))
        for svc in seen[name]:
            report.lost(
                Feature.AUTHZ_IDENTITY,
                subject(svc),
                f"Consul CE has one Consul namespace: {where} register as the same Consul service {name!r}, sharing "
                "intentions, routes and defaults (Consul Enterprise namespaces or distinct names keep them apart)",
            )
    return clashing
