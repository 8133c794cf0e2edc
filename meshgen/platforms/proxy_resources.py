"""``mesh.proxy.resources`` as chart values: the shapes the charts take, and the per-node finding.

Most charts take a container's ``resources`` as Kubernetes writes it (``requests``/``limits``,
each ``cpu``/``memory``): istiod ``global.proxy.resources`` and ``global.waypoint.resources``,
ztunnel ``resources``, cilium ``envoy.resources``, consul ``connectInject.sidecarProxy.resources``
(:func:`kubernetes_shape`). Linkerd's chart turns it around: ``proxy.resources.cpu.request``,
``proxy.resources.memory.limit`` (charts/linkerd-control-plane values.yaml; :func:`linkerd_shape`).

Only what the intent sets is written: Helm merges values files over the chart's defaults, so a
value left out keeps the chart's default (its request or limit), never an empty one. That merge
has one trap, checked by :func:`check_default_limits`: a request above the chart's default limit,
with no limit in the intent, makes a container Kubernetes refuses (request > limit).
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, ProxyResources, ResourceAmounts
from meshgen.intent.types import cpu_millicores, memory_mib

SUBJECT = "mesh"


def proxy_resources(intent: MeshIntent) -> ProxyResources | None:
    """``spec.mesh.proxy.resources``, or None when the intent leaves the proxy at the chart's sizes."""
    proxy = intent.spec.mesh.proxy
    return None if proxy is None else proxy.resources


def _amounts(amounts: ResourceAmounts | None) -> dict[str, str]:
    if amounts is None:
        return {}
    return {k: v for k, v in (("cpu", amounts.cpu), ("memory", amounts.memory)) if v is not None}


def kubernetes_shape(resources: ProxyResources) -> dict[str, Any]:
    """``{requests: {cpu, memory}, limits: {cpu, memory}}`` with only the values set (strings as written).

    Example: requests cpu 100m, limits memory 1Gi -> ``{"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}``.
    """
    out: dict[str, Any] = {}
    for key, amounts in (("requests", resources.requests), ("limits", resources.limits)):
        values = _amounts(amounts)
        if values:
            out[key] = values
    return out


def linkerd_shape(resources: ProxyResources) -> dict[str, Any]:
    """Linkerd's ``{cpu: {request, limit}, memory: {request, limit}}`` with only the values set."""
    out: dict[str, Any] = {}
    for key, amounts in (("request", resources.requests), ("limit", resources.limits)):
        for resource, value in _amounts(amounts).items():
            out.setdefault(resource, {})[key] = value
    return out


def report_per_node(report: Report, proxy: str, key: str) -> None:
    """The approximation finding of a platform whose proxy runs once per node, not once per pod."""
    report.use(
        Feature.PROXY_RESOURCES,
        SUBJECT,
        f"mesh.proxy.resources sizes {proxy} ({key}), one per node shared by every pod on it, not a proxy per pod: "
        "size it for a node's traffic",
    )


def check_default_limits(report: Report, resources: ProxyResources, defaults: dict[str, str], key: str) -> None:
    """Report as lost each request the intent sets above the chart's default limit (``defaults``,
    e.g. ``{"cpu": "2000m", "memory": "1024Mi"}`` from the chart's values.yaml) when the intent sets
    no limit for it: Helm keeps the default limit, and Kubernetes refuses a container whose request
    exceeds its limit (https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#requests-and-limits).
    ``key`` names the chart key for the message (``global.proxy.resources``).
    """
    requests, limits = resources.requests, resources.limits
    for name, measure in (("cpu", cpu_millicores), ("memory", memory_mib)):
        request = None if requests is None else getattr(requests, name)
        limit = None if limits is None else getattr(limits, name)
        default = defaults.get(name)
        if request is None or limit is not None or default is None or measure(request) <= measure(default):
            continue
        report.lost(
            Feature.PROXY_RESOURCES,
            SUBJECT,
            f"requests.{name} {request} is above the chart's default {key}.limits.{name} {default}, which Helm keeps "
            f"since the intent sets no limits.{name}: Kubernetes would refuse the proxy container; set limits.{name}",
        )
