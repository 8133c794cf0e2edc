"""Command-line benchmark: what users run, timed in CPU seconds, against issue 17's targets.

Run by hand (not part of the test suite)::

    python benchmarks/bench_cli.py                     # 100 and 1,000 services, every platform
    python benchmarks/bench_cli.py --sizes 100 1000 10000 --repeat 3
    python benchmarks/bench_cli.py --platforms linkerd --sizes 1000 2000 5000 --skip-validate
    python benchmarks/bench_cli.py --sizes 100 1000 10000 --validate-max 1000 --repeat 2  # every target

Everything runs as a child process (``meshgen ...`` from this interpreter's ``bin/``), so imports,
start-up and the collector count as they do for a user. Each cell is the **minimum CPU time**
(user + system of that child, from ``os.wait4``) of ``--repeat`` runs: the machine running this
is shared, so wall time measures the neighbours more than meshgen. Peak memory is the child's
``ru_maxrss``, measured on children started by a small process of their own (``--spawner``): Linux
records in a child's ``ru_maxrss`` the peak of the memory it was started from (``subprocess``
starts children with ``vfork``, and ``exec`` keeps the larger of the two peaks), so children
started by this process, which holds every file of a rendering to time the floor, reported its
77 MiB instead of their own 70 MiB (Kubernetes at 1,000 services, after Linkerd).

Rows, for every command and every platform the registry lists (so new ones are measured too):

* start-up: ``meshgen COMMAND --help`` for every command, and a bare ``python -c pass``;
* render: ``meshgen render INTENT -p P --output DIR`` into a fresh folder;
* check: ``meshgen check INTENT -p P --output DIR`` on the folder render just wrote (up to date);
* validate: ``meshgen validate INTENT -p P`` (bundled CRDs, every object checked);
* floor: the least any renderer of these files must do, in a child process too: start Python,
  import PyYAML and Jinja, read the intent with libyaml's C loader, render one Jinja template per
  object (its text as the only variable) and write the same files to a fresh folder.

Bytecode: an installed meshgen has its modules compiled (pip compiles a wheel's modules on install),
as do PyYAML and Jinja, which the floor imports. A source checkout run with
``PYTHONDONTWRITEBYTECODE=1`` (as on the machine these numbers come from) would otherwise compile
every meshgen module in every child, 0.2-0.35 s that no user pays and the floor never pays; so
the benchmark compiles ``meshgen/`` once (``compileall``, what pip does) before timing anything.

The synthetic intent (``benchmarks/synthetic.py``, ``portable=True``) renders without
``--allow-loss`` on every platform; a refusal (exit 3) fails the benchmark.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MESHGEN = str(Path(sys.executable).with_name("meshgen"))

#: Issue 17's targets.
STARTUP_TARGET_S = 0.12
RENDER_10K_TARGET_S = 5.0
VALIDATE_OVER_RENDER = 2.0
RENDER_OVER_FLOOR = 1.3
#: "Linear": time per service at the largest size at most this much above the 1,000-service one.
LINEAR_SLACK = 1.25


@dataclass
class Run:
    """One child process: CPU seconds (user + system), peak RSS in MiB, exit code."""

    cpu: float
    peak_mib: float
    code: int


def run(argv: list[str], expect: int = 0) -> Run:
    """Run ``argv`` to completion with output discarded; raise when it exits other than ``expect``.

    The child is started by the spawner (see the module docstring), which reports its rusage.
    """
    spawner = _spawner()
    spawner.stdin.write(json.dumps(argv) + "\n")
    spawner.stdin.flush()
    reply = json.loads(spawner.stdout.readline())
    if reply["code"] != expect:
        raise SystemExit(f"{' '.join(argv)} exited {reply['code']}, expected {expect}:\n{reply['tail']}")
    return Run(reply["cpu"], reply["peak_mib"], reply["code"])


_SPAWNER: list[subprocess.Popen] = []


def _spawner() -> subprocess.Popen:
    """The process that starts the measured children (started once, on first use)."""
    if not _SPAWNER:
        _SPAWNER.append(subprocess.Popen(
            [sys.executable, __file__, "--spawner"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ))
    return _SPAWNER[0]


def spawner_child() -> None:
    """The spawner (``--spawner``): one JSON argv a line on stdin, one JSON result a line on stdout.

    Holds nothing but this module, so its children's ``ru_maxrss`` is their own peak.
    """
    for line in sys.stdin:
        argv = json.loads(line)
        with tempfile.TemporaryFile() as err:
            child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "COLUMNS": "80"})
            _, status, usage = os.wait4(child.pid, 0)
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace")
        code = os.waitstatus_to_exitcode(status)
        reply = {"cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024, "code": code,
                 "tail": tail if code else ""}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def best(argv: list[str], repeat: int, before=None) -> Run:
    """The fastest of ``repeat`` runs (``before()`` runs untimed ahead of each), with the highest peak."""
    runs = []
    for _ in range(repeat):
        if before:
            before()
        runs.append(run(argv))
    fastest = min(runs, key=lambda r: r.cpu)
    return Run(fastest.cpu, max(r.peak_mib for r in runs), fastest.code)


def commands() -> list[str]:
    """The CLI's commands, from the typer app itself (a new command is measured without edits)."""
    import typer.main

    from meshgen.cli import app

    return list(typer.main.get_command(app).commands)


def floor_child(intent: Path, objects: Path, out: Path) -> None:
    """The floor, run in a child process (``--floor``): see the module docstring.

    ``objects`` is a JSON list of ``[relative path, text]`` pairs (what render wrote); reading it
    is subtracted from the floor's time, since a renderer computes those texts instead.
    """
    import time

    started = time.process_time()
    texts = json.loads(objects.read_text(encoding="utf-8"))
    reading = time.process_time() - started
    import jinja2
    import yaml

    with intent.open("rb") as handle:
        yaml.load(handle, Loader=yaml.CSafeLoader)
    template = jinja2.Environment(autoescape=False, keep_trailing_newline=True).from_string("{{ text }}")
    made: set[Path] = set()
    for rel, text in texts:
        path = out / rel
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_text(template.render(text=text), encoding="utf-8")
    print(json.dumps({"reading": reading}))


def floor(intent: Path, rendered: Path, work: Path, repeat: int) -> Run:
    """CPU seconds of the floor for the files under ``rendered``, fastest of ``repeat``."""
    objects = work / "objects.json"
    files = sorted(p for p in rendered.rglob("*") if p.is_file())
    objects.write_text(json.dumps([[str(p.relative_to(rendered)), p.read_text(encoding="utf-8")] for p in files]))
    runs = []
    for _ in range(repeat):
        out = work / "floor-out"
        shutil.rmtree(out, ignore_errors=True)
        with tempfile.TemporaryFile() as stdout:
            child = subprocess.Popen(
                [sys.executable, __file__, "--floor", str(intent), str(objects), str(out)], stdout=stdout
            )
            _, status, usage = os.wait4(child.pid, 0)
            if os.waitstatus_to_exitcode(status):
                raise SystemExit("the floor child failed")
            stdout.seek(0)
            reading = json.loads(stdout.read())["reading"]
        runs.append(Run(usage.ru_utime + usage.ru_stime - reading, usage.ru_maxrss / 1024, 0))
    return min(runs, key=lambda r: r.cpu)


def measure_size(size: int, platforms: list[str], work: Path, repeat: int, validate: bool) -> list[dict]:
    """Render, check, validate and the floor at ``size`` services on each platform."""
    sys.path.insert(0, str(REPO))
    from benchmarks.synthetic import intent_yaml

    intent = work / f"intent-{size}.yaml"
    intent.write_text(intent_yaml(size, portable=True), encoding="utf-8")
    rows = []
    for platform in platforms:
        out = work / f"out-{size}"
        fresh = lambda: shutil.rmtree(out, ignore_errors=True)  # noqa: E731
        render = best([MESHGEN, "render", str(intent), "-p", platform, "--output", str(out)], repeat, fresh)
        check = best([MESHGEN, "check", str(intent), "-p", platform, "--output", str(out)], repeat)
        files = sum(1 for p in (out / platform).rglob("*") if p.is_file())
        ground = floor(intent, out / platform, work, repeat)
        row = {"services": size, "platform": platform, "files": files, "render": render, "check": check,
               "floor": ground}
        if validate:
            row["validate"] = best([MESHGEN, "validate", str(intent), "-p", platform], repeat)
        rows.append(row)
        print(f"measured {size} services on {platform}: render {render.cpu:.2f} s", file=sys.stderr)
    return rows


def startup(repeat: int) -> dict[str, Run]:
    """CPU seconds of ``python -c pass`` and of ``meshgen CMD --help`` for every command."""
    out = {"python -c pass": best([sys.executable, "-c", "pass"], repeat), "meshgen --help": best([MESHGEN, "--help"], repeat)}
    for command in commands():
        out[f"meshgen {command} --help"] = best([MESHGEN, command, "--help"], repeat)
    return out


def report(starts: dict[str, Run], rows: list[dict]) -> list[tuple[str, bool, str]]:
    """Print the tables; return each issue target as (target, met, evidence)."""
    print("\n## Start-up (CPU s, fastest run)\n")
    print("| command | CPU s | peak MiB |\n|---|---:|---:|")
    for name, r in starts.items():
        print(f"| `{name}` | {r.cpu:.3f} | {r.peak_mib:.0f} |")
    print("\n## Render, check, validate from the command line (CPU s, fastest run)\n")
    head = "| services | platform | files | render s | ms/service | check s | check/render | validate s | " \
           "validate/render | floor s | render/floor | render MiB | check MiB | validate MiB |"
    print(head + "\n|" + "---:|---|" + "---:|" * 12)
    for row in rows:
        r, c, f, v = row["render"], row["check"], row["floor"], row.get("validate")
        cells = [f"{row['services']:,}", row["platform"], f"{row['files']:,}", f"{r.cpu:.2f}",
                 f"{1000 * r.cpu / row['services']:.2f}", f"{c.cpu:.2f}", f"{c.cpu / r.cpu:.2f}",
                 f"{v.cpu:.2f}" if v else "-", f"{v.cpu / r.cpu:.2f}" if v else "-", f"{f.cpu:.2f}",
                 f"{r.cpu / f.cpu:.2f}", f"{r.peak_mib:.0f}", f"{c.peak_mib:.0f}", f"{v.peak_mib:.0f}" if v else "-"]
        print("| " + " | ".join(cells) + " |")

    verdicts = []
    slowest = max((r for n, r in starts.items() if n.startswith("meshgen")), key=lambda r: r.cpu)
    verdicts.append((f"start-up of every command under {STARTUP_TARGET_S} s", slowest.cpu < STARTUP_TARGET_S,
                     f"slowest {slowest.cpu:.3f} s"))
    sizes = sorted({row["services"] for row in rows})
    by = {(row["services"], row["platform"]): row for row in rows}
    platforms = sorted({row["platform"] for row in rows}, key=[row["platform"] for row in rows].index)
    if 10000 in sizes:
        worst = max((by[10000, p]["render"].cpu, p) for p in platforms if (10000, p) in by)
        verdicts.append((f"render 10,000 services under {RENDER_10K_TARGET_S:.0f} s on every platform",
                         worst[0] < RENDER_10K_TARGET_S,
                         f"slowest {worst[1]} {worst[0]:.2f} s; the floor alone, same files: "
                         + ", ".join(f"{p} {by[10000, p]['floor'].cpu:.2f} s" for p in platforms if (10000, p) in by)))
    if len(sizes) > 1:
        small, large = (1000 if 1000 in sizes and sizes[-1] > 1000 else sizes[0]), sizes[-1]
        ratios = {p: (by[large, p]["render"].cpu / large) / (by[small, p]["render"].cpu / small) for p in platforms}
        p, worst = max(ratios.items(), key=lambda kv: kv[1])
        verdicts.append((f"linear: ms/service at {large:,} at most {LINEAR_SLACK}x that at {small:,}",
                         worst <= LINEAR_SLACK, f"worst {p} {worst:.2f}x"))
    at = 1000 if 1000 in sizes else sizes[-1]
    here = [by[at, p] for p in platforms if (at, p) in by]
    if all("validate" in row for row in here):
        w = max(here, key=lambda row: row["validate"].cpu / row["render"].cpu)
        ratio = w["validate"].cpu / w["render"].cpu
        verdicts.append((f"validate at most {VALIDATE_OVER_RENDER:.0f}x a render at {at:,}",
                         ratio <= VALIDATE_OVER_RENDER, f"worst {w['platform']} {ratio:.2f}x"))
    w = max(here, key=lambda row: row["check"].cpu / row["render"].cpu)
    verdicts.append((f"check on an up-to-date folder at most a render at {at:,}",
                     all(row["check"].cpu <= row["render"].cpu for row in here),
                     f"worst {w['platform']} {w['check'].cpu / w['render'].cpu:.2f}x"))
    w = max(here, key=lambda row: row["check"].peak_mib / row["render"].peak_mib)
    verdicts.append((f"check's peak memory at most render's at {at:,}",
                     all(row["check"].peak_mib <= row["render"].peak_mib for row in here),
                     f"worst {w['platform']} {w['check'].peak_mib:.1f} vs {w['render'].peak_mib:.1f} MiB"))
    w = max(here, key=lambda row: row["render"].cpu / row["floor"].cpu)
    ratio = w["render"].cpu / w["floor"].cpu
    verdicts.append((f"render at most {RENDER_OVER_FLOOR}x the floor at {at:,}", ratio <= RENDER_OVER_FLOOR,
                     f"worst {w['platform']} {ratio:.2f}x"))
    print("\n## Issue 17 targets\n")
    for target, met, evidence in verdicts:
        print(f"- {'met  ' if met else 'UNMET'}  {target}: {evidence}")
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="services (default 100 1000)")
    parser.add_argument("--platforms", nargs="+", help="default: every registered platform")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell, the fastest kept (default 3)")
    parser.add_argument("--skip-validate", action="store_true", help="do not time meshgen validate")
    parser.add_argument("--validate-max", type=int, help="time meshgen validate only up to this many services "
                        "(its target is judged at 1,000; default: every size)")
    parser.add_argument("--skip-startup", action="store_true", help="do not time start-up")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
        help="where intents and output are written (default /dev/shm, tmpfs: a shared disk's write "
        "throttling would otherwise be most of what is measured, for render and floor alike)",
    )
    parser.add_argument("--floor", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spawner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.spawner:
        spawner_child()
        return 0
    if args.floor:
        floor_child(*args.floor)
        return 0

    sys.path.insert(0, str(REPO))
    from meshgen.platforms.registry import names

    platforms = args.platforms or list(names())
    # As pip does on install (see the module docstring); children then read bytecode, not source.
    compileall.compile_dir(str(REPO / "meshgen"), quiet=1)
    print(f"machine: {os.cpu_count()} CPUs, {_cpu_model()}, Python {sys.version.split()[0]}; "
          f"CPU seconds of each child (user + system), fastest of {args.repeat}", file=sys.stderr)
    starts = {} if args.skip_startup else startup(max(args.repeat, 5))
    rows = []
    with tempfile.TemporaryDirectory(prefix="meshgen-bench-cli-", dir=args.workdir) as tmp:
        for size in args.sizes:
            timed = not args.skip_validate and (args.validate_max is None or size <= args.validate_max)
            rows += measure_size(size, platforms, Path(tmp), args.repeat, timed)
    if not starts:
        starts = {"meshgen --help": best([MESHGEN, "--help"], 1)}
    verdicts = report(starts, rows)
    return 0 if all(met for _, met, _ in verdicts) else 1


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
