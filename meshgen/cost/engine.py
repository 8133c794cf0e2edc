"""Multiply the figures by the intent: pods, nodes, waypoints, control-plane replicas, hops.

For one platform (units: MiB, millicores, ms):

- proxy sizes: where the intent sets ``mesh.proxy.resources``, they replace the figures of the
  sidecar, waypoints and per-node proxies (:mod:`meshgen.cost.intent_sizes`; source "from the intent");
- sidecar: ``pods x per-pod`` figure, pods = the sum of ``services[].replicas``;
- per node (ztunnel, istio-cni, Cilium agent and Envoy): ``nodes x`` each component; nodes from
  ``--nodes`` or ``spec.context.nodes``; unknown nodes leave these out and say so;
- waypoints: the platform's planned objects rendered from the figure's ``template`` (the
  waypoints :func:`meshgen.pipeline.plan` decides), times ``mesh.controlPlane.replicas`` (meshgen
  gives each waypoint the control plane's replicas), times the per-waypoint figure;
- control plane: ``mesh.controlPlane.replicas x`` each component;
- latency: per entry service, the hops of its longest call path
  (:func:`meshgen.callgraph.paths.longest_paths`) times the per-hop p99 figure.

A component whose figure is null is listed under ``unknown`` and never counted as zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshgen.callgraph.paths import CallPath, longest_paths
from meshgen.cost.figures import ZERO, PlatformFigures, Range
from meshgen.cost.intent_sizes import apply, proxy_size
from meshgen.intent.model import MeshIntent


@dataclass(frozen=True)
class Line:
    """One row of the estimate: ``count`` instances of ``component`` (``per`` says of what:
    pod, node, waypoint, replica), per-instance and total memory (MiB) and CPU (millicores)."""

    component: str
    per: str
    count: int
    memory: Range
    cpu: Range
    source: str

    @property
    def total_memory(self) -> Range:
        """``count x memory``."""
        return self.memory.times(self.count)

    @property
    def total_cpu(self) -> Range:
        """``count x cpu``."""
        return self.cpu.times(self.count)


@dataclass(frozen=True)
class PathLatency:
    """The added p99 (ms) on one entry service's longest call path; None without a figure."""

    path: CallPath
    p99: Range | None


@dataclass
class Estimate:
    """One platform's added resources and latency.

    Attributes:
        platform: the registered name.
        lines: what is counted, in the order sidecar, per node, waypoints, control plane.
        unknown: components left out, each with why (no figure, nodes not given).
        latency: one entry per entry service, document order.
        services: per service with sidecars: ``(namespace/name, replicas, memory, cpu)`` of its proxies.
        hop_source: where the per-hop figure comes from.
    """

    platform: str
    lines: list[Line] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    latency: list[PathLatency] = field(default_factory=list)
    hop_source: str = ""
    services: list[tuple[str, int, Range, Range]] = field(default_factory=list)

    @property
    def memory(self) -> Range:
        """Total MiB of every counted line."""
        total = ZERO
        for line in self.lines:
            total = total.plus(line.total_memory)
        return total

    @property
    def cpu(self) -> Range:
        """Total millicores of every counted line."""
        total = ZERO
        for line in self.lines:
            total = total.plus(line.total_cpu)
        return total

    @property
    def worst_latency(self) -> PathLatency | None:
        """The entry path adding the most p99 (the first on a tie); None without services or figure."""
        best = None
        for item in self.latency:
            if item.p99 is not None and (best is None or item.p99.high > best.p99.high):
                best = item
        return best


def estimate(intent: MeshIntent, platform: str, figures: PlatformFigures, nodes: int | None) -> Estimate:
    """The estimate of ``platform`` for a validated ``intent`` (see the module docstring).

    Args:
        nodes: cluster nodes (None: unknown; per-node components are then listed as unknown).

    Raises:
        UnknownPlatformError: ``platform`` is not registered.
    """
    out = Estimate(platform, hop_source=figures.hop_source)
    spec = intent.spec
    pods = sum(s.replicas for s in spec.services)
    replicas = spec.mesh.control_plane.replicas
    size = proxy_size(intent)
    if figures.sidecar is not None:
        memory, cpu, source = apply(size, figures.sidecar.memory, figures.sidecar.cpu, figures.sidecar.source)
        out.lines.append(Line("sidecar proxy", "pod", pods, memory, cpu, source))
        out.services = [(f"{s.namespace}/{s.name}", s.replicas, memory.times(s.replicas), cpu.times(s.replicas))
                        for s in spec.services]
    for part in figures.per_node:
        if nodes is None:
            out.unknown.append(f"{part.name} (per node): give --nodes N or spec.context.nodes")
        else:
            memory, cpu, source = apply(size if part.proxy else None, part.memory, part.cpu, part.source)
            _add(out, part.name, "node", nodes, memory, cpu, source)
    if figures.waypoint is not None:
        from meshgen import pipeline

        way = figures.waypoint
        count = sum(1 for o in pipeline.plan(intent, platform).objects if o.template == way.template)
        memory, cpu, source = apply(size, way.memory, way.cpu, way.source)
        out.lines.append(Line("waypoint", "waypoint replica", count * replicas, memory, cpu, source))
    for part in figures.control_plane:
        _add(out, part.name, "control-plane replica", replicas, part.memory, part.cpu, part.source)
    for path in longest_paths(intent):
        out.latency.append(PathLatency(path, figures.hop_p99.times(path.hops) if figures.hop_p99 else None))
    if figures.hop_p99 is None and spec.services:
        out.unknown.append(f"latency: {figures.hop_source}")
    return out


def _add(out: Estimate, name: str, per: str, count: int, memory: Range | None, cpu: Range | None, source: str) -> None:
    if memory is None or cpu is None:
        out.unknown.append(f"{name} (per {per}): {source}")
        return
    out.lines.append(Line(name, per, count, memory, cpu, source))
