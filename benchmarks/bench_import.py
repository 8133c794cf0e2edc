"""Time ``meshgen import`` of N services' rendered objects against rendering them, per platform
(a script, not a test). Run from the repository root::

    python benchmarks/bench_import.py [--services 1000] [--repeat 3] [--platforms istio cilium]

For each platform (default: every platform in the registry that has an importer):

* ``render`` is load + plan + lay out + write the folder (what ``meshgen render --output`` does);
* ``import`` is read + the platform's importer + write + validate the intent (what ``meshgen
  import --from PLATFORM`` does on that folder).

Times are **CPU seconds** of this process (``time.process_time``), best of ``--repeat`` runs each,
with the cyclic collector paused as the CLI pauses it: the machine these numbers come from is
shared, so wall time would measure the neighbours more than meshgen. Even CPU time swells (up to
3x, render more than import) while the neighbours are busy, so the best run is the estimate: each
platform's line ends with the ratio import/render of the best times (issue 14: "about as long as
rendering them"), then the range of the runs' own ratios (render and import timed back to back).

Every timed run does what one ``meshgen`` process does: a first, untimed run per platform imports
the modules and compiles the templates (start-up, measured by bench_cli.py), and the memos of
per-value work (``meshgen.render``'s scalar cache, the import reader's resolved tags and writer's
scalar styles) are emptied before each render and each import, so no run reuses what an earlier
one computed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _importable() -> list[str]:
    from meshgen.platforms.registry import get_importer, names

    return [name for name in names() if get_importer(name) is not None]


def _cold() -> None:
    """Empty the per-value memos a fresh process starts without (those that exist in this tree)."""
    import importlib

    from meshgen.importing import reader, writer

    importlib.import_module("meshgen.render")._string_scalar.cache_clear()
    getattr(reader, "_RESOLVED", {}).clear()
    if hasattr(writer, "_string"):
        writer._string.cache_clear()


def main(argv: list[str] | None = None) -> None:
    from meshgen.platforms.registry import names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--platforms", nargs="+", choices=names(), default=None, metavar="PLATFORM",
        help=f"platforms to measure (default: every one with an importer); choices: {', '.join(names())}",
    )
    args = parser.parse_args(argv)
    platforms = args.platforms or _importable()

    from benchmarks.synthetic import intent_yaml
    from meshgen import pipeline
    from meshgen.gcpause import gc_paused
    from meshgen.importing.run import import_manifests
    from meshgen.loader import load
    from meshgen.output import write_platform_folder
    from meshgen.platforms.registry import get_importer

    print(f"services {args.services}, best of {args.repeat}, CPU seconds (time.process_time)")
    with tempfile.TemporaryDirectory() as tmp:
        intent = Path(tmp) / "intent.yaml"
        intent.write_text(intent_yaml(args.services), encoding="utf-8")
        for platform in platforms:
            if get_importer(platform) is None:
                print(f"{platform:<14} no importer")
                continue
            renders, imports = [], []
            for run in range(args.repeat + 1):
                folder = Path(tmp) / f"{platform}-{run}"
                with gc_paused():
                    _cold()
                    t0 = time.process_time()
                    loaded = load([intent])
                    rendering = pipeline.render(loaded.intent, platform, "bench")
                    write_platform_folder(folder, rendering.files, None)
                    t1 = time.process_time()
                    _cold()
                    t2 = time.process_time()
                    result = import_manifests([folder], platform)
                    t3 = time.process_time()
                if run:  # the first run is start-up: module imports, template compilation
                    renders.append(t1 - t0)
                    imports.append(t3 - t2)
            ratios = sorted(i / r for i, r in zip(imports, renders))
            print(
                f"{platform:<14} objects {len(rendering.plan.objects):>5}  findings {len(result.findings):>5}"
                f" ({len(result.losses)} losses)  render {min(renders):6.2f} s  import {min(imports):6.2f} s"
                f"  ratio import/render {min(imports) / min(renders):.2f} (runs {ratios[0]:.2f}-{ratios[-1]:.2f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
