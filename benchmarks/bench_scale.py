"""Scale benchmark: time each phase of ``meshgen render --output`` on synthetic intents.

Run by hand (not part of the test suite)::

    python benchmarks/bench_scale.py                        # 10, 100, 1000, 5000 services, every platform
    python benchmarks/bench_scale.py --sizes 1000 --platforms istio --repeat 5 --markdown

Each measurement runs in a fresh Python process pinned to one CPU core, so caches, imports and
peak memory of one run cannot flatter the next. Phases, as ``meshgen render INTENT --output DIR``
runs them:

* load: read the file and parse YAML (libyaml, fast path)
* validate: pydantic model and cross-field rules
* plan: the platform decides every object (identity resolution, capability findings)
* render: Jinja lays each object out, plus kustomization.yaml
* write: stage the files in a temporary folder and swap it in

Each cell is the fastest of ``--repeat`` runs (phases of that run); "median s" is the median total.
Peak memory is the process's maximum resident set size (``ru_maxrss``), interpreter included.
The budget from the issue: 1,000 services load, validate and render one platform to disk in under
2 seconds on one core; the total column is load + validate + plan + render + write. "check s" is
what ``meshgen check`` adds instead of write in CI: comparing the rendering with the written
folder (after load, validate, plan and render), reading files and writing nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHASES = ("load", "validate", "plan", "render", "write")
BUDGET_SERVICES, BUDGET_SECONDS = 1000, 2.0


def measure(size: int, platform: str, workdir: Path) -> dict:
    """One measurement in this process: phase times (seconds), counts and peak RSS (MiB)."""
    sys.path.insert(0, str(REPO))
    from benchmarks.synthetic import intent_yaml
    from meshgen import pipeline
    from meshgen.check import check_folder
    from meshgen.gcpause import gc_paused
    from meshgen.loader import merge, read_sources, validate
    from meshgen.output import write_platform_folder
    from meshgen.render import environment

    intent_path = workdir / f"intent-{size}.yaml"
    intent_path.write_text(intent_yaml(size), encoding="utf-8")
    os.sync()  # start from a quiet disk: earlier runs' writes and deletions are flushed
    environment()  # Jinja compiles templates lazily; warm the environment like a long-lived CLI would not
    times: dict[str, float] = {}

    start = time.perf_counter()
    with gc_paused():  # as the CLI does
        sources = read_sources([intent_path])
    times["load"] = time.perf_counter() - start

    start = time.perf_counter()
    with gc_paused():  # as the CLI does
        data, located = merge(sources)
        intent = validate(data, located)
    times["validate"] = time.perf_counter() - start

    start = time.perf_counter()
    with gc_paused():  # as the CLI does
        plan = pipeline.plan(intent, platform)
    times["plan"] = time.perf_counter() - start

    start = time.perf_counter()
    with gc_paused():  # as the CLI does
        rendering = pipeline.render_plan(plan, pipeline.source_name(intent_path))
    times["render"] = time.perf_counter() - start

    start = time.perf_counter()
    write_platform_folder(workdir / "out" / platform, rendering.files)
    times["write"] = time.perf_counter() - start

    # What CI runs instead of write: compare the rendering with the folder (nothing written).
    start = time.perf_counter()
    result = check_folder(workdir / "out" / platform, rendering.files)
    check_seconds = time.perf_counter() - start
    assert result.ok, result.summary()

    edges = sum(len(s.allow_from) + len(s.deny_from) for s in intent.spec.services)
    return {
        "services": size,
        "platform": platform,
        "bytes": intent_path.stat().st_size,
        "edges": edges,
        "objects": len(plan.objects),
        "times": times,
        "total": sum(times.values()),
        "check": check_seconds,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(size: int, platform: str, workdir: Path) -> dict:
    """:func:`measure` in a fresh interpreter pinned to one core, writing under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="meshgen-bench-", dir=workdir) as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(size), platform, tmp],
            check=True,
            capture_output=True,
            text=True,
        )
    os.sync()  # the deletion of this run's files must not slow the next run's writes
    return json.loads(out.stdout)


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def table(rows: list[dict], markdown: bool) -> str:
    """The results as an aligned text table, or a Markdown table for the README."""
    head = [
        "services",
        "platform",
        "intent KB",
        "edges",
        "objects",
        *(f"{p} s" for p in PHASES),
        "total s",
        "median s",
        "ms/service",
        "check s",
        "peak MiB",
    ]
    body = []
    for r in rows:
        t = r["times"]
        body.append(
            [
                f"{r['services']:,}",
                r["platform"],
                f"{r['bytes'] / 1024:,.0f}",
                f"{r['edges']:,}",
                f"{r['objects']:,}",
                *(f"{t[p]:.3f}" for p in PHASES),
                f"{r['total']:.2f}",
                f"{r.get('median', r['total']):.2f}",
                f"{1000 * r['total'] / r['services']:.2f}",
                f"{r['check']:.3f}",
                f"{r['peak_mib']:.0f}",
            ]
        )
    if markdown:
        lines = [
            "| " + " | ".join(head) + " |",
            "|" + "|".join("---:" if i != 1 else "---" for i in range(len(head))) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    fmt = lambda row: "  ".join(c.rjust(w) for c, w in zip(row, widths))  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths]), *map(fmt, body)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 5000], help="services per intent")
    parser.add_argument("--platforms", nargs="+", help="default: every registered platform")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; the fastest is kept (default 3)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=REPO / ".benchmarks",
        help="where intents and output are written (default: .benchmarks/ in the repository, the disk a "
        "checkout renders to; a /tmp that churns through many deletions can be much slower to write to)",
    )
    parser.add_argument("--child", nargs=3, metavar=("SIZE", "PLATFORM", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        _pin_to_one_core()
        size, platform, workdir = args.child
        print(json.dumps(measure(int(size), platform, Path(workdir))))
        return 0

    sys.path.insert(0, str(REPO))
    from meshgen.platforms import PLATFORMS

    platforms = args.platforms or sorted(PLATFORMS)
    rows = []
    for size in args.sizes:
        for platform in platforms:
            runs = [run_child(size, platform, args.workdir) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["total"])
            best["peak_mib"] = max(r["peak_mib"] for r in runs)
            best["median"] = statistics.median(r["total"] for r in runs)
            rows.append(best)
            print(f"measured {size} services on {platform}: {best['total']:.2f} s", file=sys.stderr)
    print(table(rows, args.markdown))
    budget = [r for r in rows if r["services"] == BUDGET_SERVICES]
    for r in budget:
        verdict = "within" if r["total"] < BUDGET_SECONDS else "OVER"
        print(
            f"\nbudget: {BUDGET_SERVICES} services on {r['platform']}: {r['total']:.2f} s, "
            f"{verdict} the {BUDGET_SECONDS:.0f} s budget"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
