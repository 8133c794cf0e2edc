"""Control plane in ambient mode: istiod, istio-cni and ztunnel Helm values.

Istio's Helm install for ambient installs the ``istiod``, ``cni`` and ``ztunnel`` charts, each with
``profile: ambient`` (https://istio.io/latest/docs/ambient/install/helm/; the profile files are
istio/istio ``manifests/charts/*/files/profile-ambient.yaml``). istiod's availability values
(replicas or autoscaling, PodDisruptionBudget, anti-affinity) and istio-csr's are Istio's
(:func:`meshgen.platforms.istio.control_plane.plan_control_plane`); ztunnel and istio-cni are
DaemonSets, one pod per node, with no replicas to set; waypoints get their availability from
their Gateway's options (:func:`~.waypoints.gateway_objects`).

istiod also gets ``meshConfig.defaultHttpRetryPolicy`` (:func:`~.traffic.mesh_retry_policy`):
the retry policy of every waypoint route, since meshgen's standard-channel HTTPRoutes carry none.
It is mesh-wide: it also applies to the ingress gateways' routes and to any other Istio proxy
route without a retry policy of its own.
"""

from __future__ import annotations

from meshgen.capabilities import Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.istio.control_plane import plan_control_plane as istio_control_plane
from meshgen.platforms.istio_ambient.traffic import mesh_retry_policy
from meshgen.platforms.proxy_resources import check_default_limits, kubernetes_shape, proxy_resources, report_per_node
from meshgen.platforms.sections import Section


def plan_control_plane(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """istiod (HA, ``profile: ambient``, the mesh retry policy), istio-cni and ztunnel values."""
    out = istio_control_plane(intent, report, cp_ns)
    out.add_values(
        "istiod", {"profile": "ambient", "meshConfig": {"defaultHttpRetryPolicy": mesh_retry_policy(intent)}}
    )
    out.add_values("istio-cni", {"profile": "ambient"})
    out.add_values("ztunnel", {"profile": "ambient"})
    if cp_ns != "istio-system":
        # ztunnel finds istiod (XDS and CA) through this namespace.
        out.add_values("ztunnel", {"istioNamespace": cp_ns})
    return out


#: istiod chart values.yaml global.waypoint.resources.limits (Istio 1.30.3); ztunnel sets no limits.
WAYPOINT_DEFAULT_LIMITS = {"cpu": "2", "memory": "1Gi"}


def plan_proxy_resources(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """``mesh.proxy.resources`` -> ztunnel chart ``resources`` (charts/ztunnel values.yaml; defaults
    requests 200m/512Mi) and istiod chart ``global.waypoint.resources`` (charts/istiod values.yaml, the
    waypoint Deployments istiod generates; defaults requests 100m/128Mi, limits 2/1Gi).

    ztunnel is a DaemonSet: the values size one proxy per node, shared by every pod on it, which
    is reported (approximated).
    """
    out = Section()
    resources = proxy_resources(intent)
    if resources is not None:
        shape = kubernetes_shape(resources)
        out.add_values("ztunnel", {"resources": shape})
        out.add_values("istiod", {"global": {"waypoint": {"resources": shape}}})
        report_per_node(report, "ztunnel", "ztunnel chart resources")
        check_default_limits(report, resources, WAYPOINT_DEFAULT_LIMITS, "global.waypoint.resources")
    return out
