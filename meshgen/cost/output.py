"""``meshgen cost`` output: per platform a table of what is added, totals and latency; or JSON."""

from __future__ import annotations

import json

from meshgen.cost.engine import Estimate
from meshgen.cost.figures import Range


def _r(value: Range) -> dict[str, float]:
    return {"low": value.low, "typical": value.typical, "high": value.high}


def _fmt(value: Range) -> str:
    if value.low == value.high:
        return f"{value.typical:g}"
    return f"{value.low:g} / {value.typical:g} / {value.high:g}"


def to_json(intent: str, nodes: int | None, estimates: list[Estimate]) -> str:
    """Every estimate as one JSON document (keys sorted: byte-identical across runs)."""
    doc = {"intent": intent, "nodes": nodes, "units": {"memory": "MiB", "cpu": "millicores", "latency": "ms p99"},
           "platforms": []}
    for e in estimates:
        worst = e.worst_latency
        doc["platforms"].append({
            "platform": e.platform,
            "memory": _r(e.memory),
            "cpu": _r(e.cpu),
            "lines": [{"component": x.component, "per": x.per, "count": x.count, "memory": _r(x.memory),
                       "cpu": _r(x.cpu), "totalMemory": _r(x.total_memory), "totalCpu": _r(x.total_cpu),
                       "source": x.source} for x in e.lines],
            "unknown": e.unknown,
            "latency": [{"entry": p.path.services[0], "hops": p.path.hops, "path": list(p.path.services),
                         "p99": _r(p.p99) if p.p99 else None} for p in e.latency],
            "worstLatency": None if worst is None else {"entry": worst.path.services[0], "p99": _r(worst.p99)},
            "hopSource": e.hop_source,
            "services": [{"service": n, "replicas": k, "memory": _r(m), "cpu": _r(c)} for n, k, m, c in e.services],
        })
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def to_text(intent: str, nodes: int | None, estimates: list[Estimate], console) -> None:
    """A totals table over platforms, then per platform its lines and latency per entry path."""
    from rich.table import Table

    where = f"{nodes} nodes" if nodes is not None else "nodes unknown (--nodes N)"
    totals = Table(title=f"{intent}: added by each platform, {where} (low / typical / high)")
    for column in ("platform", "memory MiB", "CPU millicores", "worst p99 added, ms", "not counted"):
        totals.add_column(column)
    for e in estimates:
        worst = e.worst_latency
        latency = "-" if worst is None else f"{_fmt(worst.p99)} ({worst.path.hops} hops from {worst.path.services[0]})"
        totals.add_row(e.platform, _fmt(e.memory), _fmt(e.cpu), latency, str(len(e.unknown)) if e.unknown else "")
    console.print(totals)
    for e in estimates:
        table = Table(title=f"{e.platform}")
        for column in ("component", "count", "per", "memory MiB each", "CPU m each", "memory MiB", "CPU m", "source"):
            table.add_column(column)
        for x in e.lines:
            table.add_row(x.component, str(x.count), x.per, _fmt(x.memory), _fmt(x.cpu), _fmt(x.total_memory),
                          _fmt(x.total_cpu), x.source)
        console.print(table)
        if e.services:
            per = Table(title=f"{e.platform}: sidecars per service")
            for column in ("service", "replicas", "memory MiB", "CPU m"):
                per.add_column(column)
            for n, k, m, c in e.services:
                per.add_row(n, str(k), _fmt(m), _fmt(c))
            console.print(per)
        for item in e.unknown:
            console.print(f"  not counted: {item}", markup=False)
        for p in e.latency:
            added = "no figure" if p.p99 is None else f"{_fmt(p.p99)} ms"
            console.print(f"  p99 added from {p.path.services[0]}: {p.path.hops} hops x per-hop = {added} "
                          f"({' -> '.join(p.path.services)})", markup=False)
