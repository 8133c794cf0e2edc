"""The intent's own proxy size (``mesh.proxy.resources``) in place of the figures' range.

Where the intent sets the proxy's requests or limits, those are what the platform will run with
(they are rendered into the chart's values, :mod:`meshgen.platforms.proxy_resources`), so the
estimate uses them instead of the figures file for the proxy components (the sidecar, a
per-node component marked ``proxy: true`` such as ztunnel or cilium-envoy, and waypoints):

- ``low = typical = request`` (what the scheduler reserves,
  https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#how-pods-with-resource-requests-are-scheduled);
- ``high = limit`` (the most the proxy may use), else the request;
- only a limit: ``low`` and ``typical`` are the figures' capped at the limit, ``high`` the limit;
- a resource (cpu or memory) the intent leaves out keeps the figures' range and source.

Units: MiB (2^20 bytes) and millicores, as the figures file.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshgen.cost.figures import Range
from meshgen.intent.model import MeshIntent
from meshgen.intent.types import cpu_millicores, memory_mib

FROM_INTENT = "from the intent"


@dataclass(frozen=True)
class ProxySize:
    """The intent's proxy quantities as written (None: not set)."""

    cpu_request: str | None
    cpu_limit: str | None
    memory_request: str | None
    memory_limit: str | None


def proxy_size(intent: MeshIntent) -> ProxySize | None:
    """The intent's ``mesh.proxy.resources``, or None when it sets none."""
    proxy = intent.spec.mesh.proxy
    res = None if proxy is None else proxy.resources
    if res is None:
        return None
    req, lim = res.requests, res.limits
    size = ProxySize(req and req.cpu, lim and lim.cpu, req and req.memory, lim and lim.memory)
    return None if size == ProxySize(None, None, None, None) else size


def _sized(figure: Range | None, request: float | None, limit: float | None) -> Range | None:
    if request is not None:
        return Range(low=request, typical=request, high=limit if limit is not None else request)
    if limit is not None:
        low, typical = (limit, limit) if figure is None else (min(figure.low, limit), min(figure.typical, limit))
        return Range(low=low, typical=typical, high=limit)
    return figure


def apply(size: ProxySize | None, memory: Range | None, cpu: Range | None, source: str) -> tuple[Range | None, Range | None, str]:
    """``(memory MiB, cpu millicores, source)`` of one proxy component, the intent's where it sets them.

    Example: requests cpu 100m, memory 64Mi, limits cpu 1, memory 256Mi -> memory 64/64/256,
    cpu 100/100/1000, source ``from the intent (mesh.proxy.resources ...)``.
    """
    if size is None:
        return memory, cpu, source
    def measure(f, text):
        return None if text is None else f(text)

    new_memory = _sized(memory, measure(memory_mib, size.memory_request), measure(memory_mib, size.memory_limit))
    new_cpu = _sized(cpu, measure(cpu_millicores, size.cpu_request), measure(cpu_millicores, size.cpu_limit))
    parts = [f"{name} {kind} {value}" for name, kind, value in (
        ("cpu", "request", size.cpu_request), ("cpu", "limit", size.cpu_limit),
        ("memory", "request", size.memory_request), ("memory", "limit", size.memory_limit)) if value is not None]
    text = f"{FROM_INTENT}: mesh.proxy.resources {', '.join(parts)} (low = typical = request, high = limit)"
    kept = [name for name, value in (("cpu", size.cpu_request or size.cpu_limit),
                                     ("memory", size.memory_request or size.memory_limit)) if value is None]
    if kept:
        text += f"; {' and '.join(kept)} from the figures: {source}"
    return new_memory, new_cpu, text
