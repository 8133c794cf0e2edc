"""Time ``meshgen import`` of 1,000 services' rendered Istio objects against rendering them
(a script, not a test). Run from the repository root::

    python benchmarks/bench_import.py [--services 1000] [--repeat 3] [--platform linkerd]

``render`` is load + plan + lay out + write the folder (what ``meshgen render --output`` does);
``import`` is read + Istio importer + write + validate the intent (what ``meshgen import`` does on
that folder). Best of ``--repeat`` runs each; the ratio import/render is printed last.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--platform", default="istio", help="a platform with an importer (its losses in render are ignored)")
    args = parser.parse_args()

    from benchmarks.synthetic import intent_yaml
    from meshgen import pipeline
    from meshgen.gcpause import gc_paused
    from meshgen.importing.run import import_manifests
    from meshgen.loader import load
    from meshgen.output import write_platform_folder

    with tempfile.TemporaryDirectory() as tmp:
        intent = Path(tmp) / "intent.yaml"
        intent.write_text(intent_yaml(args.services))
        renders, imports = [], []
        for run in range(args.repeat):
            folder = Path(tmp) / f"out{run}" / args.platform
            with gc_paused():
                t0 = time.perf_counter()
                loaded = load([intent])
                rendering = pipeline.render(loaded.intent, args.platform, "bench")
                write_platform_folder(folder, rendering.files, None)
                t1 = time.perf_counter()
                result = import_manifests([folder], args.platform)
                t2 = time.perf_counter()
            renders.append(t1 - t0)
            imports.append(t2 - t1)
        objects = len(rendering.plan.objects)
        print(f"services {args.services}, objects {objects}, findings {len(result.findings)} ({len(result.losses)} losses)")
        print(f"render  {min(renders):7.2f} s")
        print(f"import  {min(imports):7.2f} s")
        print(f"ratio import/render {min(imports) / min(renders):.2f}")


if __name__ == "__main__":
    main()
