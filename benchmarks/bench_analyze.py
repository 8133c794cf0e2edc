"""Time ``meshgen analyze`` on synthetic intents of growing size (a script, not a test).

Run from the repository root::

    python benchmarks/bench_analyze.py [--sizes 1000 2500 5000 10000]

Each size is measured in a fresh interpreter. Phases: ``load`` (read, parse, merge, validate:
what every command pays), ``graph`` (the call graph and retry factors), ``analyzers`` (every
registered analyzer), ``positions`` (libyaml event pass over the intent for the findings'
``file:line:col``), ``report`` (SARIF); ``analyze`` is the whole run after load (graph, analyzers, suppressions, positions,
SARIF), measured separately. The analyze columns should grow linearly with services +
edges; the per-1k-services column makes that visible.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure(size: int) -> dict:
    """Phase times in seconds for one synthetic intent of ``size`` services."""
    from benchmarks.synthetic import intent_yaml
    from meshgen.analyze import analyze, run
    from meshgen.analyze.formats import to_sarif
    from meshgen.analyze.graph import build
    from meshgen.gcpause import gc_paused
    from meshgen.loader import load

    with tempfile.TemporaryDirectory() as tmp, gc_paused():  # as the CLI runs it
        path = Path(tmp) / "intent.yaml"
        path.write_text(intent_yaml(size))
        t0 = time.perf_counter()
        loaded = load([path])
        t1 = time.perf_counter()
        graph = build(loaded.intent)
        t2 = time.perf_counter()
        findings = run(loaded.intent)
        t3 = time.perf_counter()
        loaded.sources.locate_many([f.path for f in findings])
        positions = time.perf_counter() - t3
        t3 = time.perf_counter()
        analysis = analyze(loaded)  # the whole command: graph, analyzers, suppressions, positions
        t4 = time.perf_counter()
        to_sarif(analysis, "bench")
        t5 = time.perf_counter()
    edges = sum(len(v) for v in graph.callees.values()) + len(graph.gateway_edges)
    return {
        "services": size,
        "edges": edges,
        "findings": len(findings),
        "load": t1 - t0,
        "graph": t2 - t1,
        "analyzers": t3 - t2,
        "positions": positions,
        "report": t5 - t4,
        "analyze": t4 - t3 + (t5 - t4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2500, 5000, 10000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    head = [
        "services",
        "edges",
        "findings",
        "load s",
        "graph s",
        "analyzers s",
        "positions s",
        "SARIF s",
        "analyze s",
        "analyze s per 1k",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(size)], check=True, capture_output=True, text=True
        )
        r = json.loads(out.stdout)
        cells = [r["services"], r["edges"], r["findings"]]
        cells += [f"{r[k]:.2f}" for k in ("load", "graph", "analyzers", "positions", "report", "analyze")]
        cells.append(f"{r['analyze'] / size * 1000:.3f}")
        print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
