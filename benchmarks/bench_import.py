"""Time ``meshgen import`` of N services' rendered objects against rendering them, per platform
(a script, not a test). Run from the repository root::

    python benchmarks/bench_import.py [--services 1000] [--repeat 3] [--platforms istio cilium]

For each platform (default: every platform in the registry that has an importer):

* ``render`` is load + plan + lay out + write the folder (what ``meshgen render --output`` does);
* ``import`` is read + the platform's importer + write + validate the intent (what ``meshgen
  import --from PLATFORM`` does on that folder).

Times are **CPU seconds** of this process (``time.process_time``), best of ``--repeat`` runs each,
with the cyclic collector paused as the CLI pauses it: the machine these numbers come from is
shared, so wall time would measure the neighbours more than meshgen. One line per platform ends
with the ratio import/render (issue 14: "about as long as rendering them").
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
            for run in range(args.repeat):
                folder = Path(tmp) / f"{platform}-{run}"
                with gc_paused():
                    t0 = time.process_time()
                    loaded = load([intent])
                    rendering = pipeline.render(loaded.intent, platform, "bench")
                    write_platform_folder(folder, rendering.files, None)
                    t1 = time.process_time()
                    result = import_manifests([folder], platform)
                    t2 = time.process_time()
                renders.append(t1 - t0)
                imports.append(t2 - t1)
            render, imported = min(renders), min(imports)
            print(
                f"{platform:<14} objects {len(rendering.plan.objects):>5}  findings {len(result.findings):>5}"
                f" ({len(result.losses)} losses)  render {render:6.2f} s  import {imported:6.2f} s"
                f"  ratio import/render {imported / render:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
