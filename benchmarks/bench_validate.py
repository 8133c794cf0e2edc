"""Time meshgen.validate on the upstream example manifests (a script, not a test).

Run from the repository root::

    python benchmarks/bench_validate.py [--rounds 3]

The CRD corpus and examples are read from ``$MESHGEN_SHARED`` or ``../shared`` next to the
repository. Prints catalog load time and validation time per object.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from meshgen.kube import CRDCatalog  # noqa: E402  (needs the path set above)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="validation passes to time")
    args = parser.parse_args()
    shared = Path(os.environ.get("MESHGEN_SHARED", REPO.parent / "shared"))

    started = time.perf_counter()
    catalog = CRDCatalog.from_directory(shared / "crds")
    loaded = time.perf_counter() - started
    print(f"catalog: {len(catalog.kinds())} kinds loaded in {loaded:.2f} s")

    examples = shared / "upstream-examples"
    documents = []
    for path in sorted(examples.rglob("*.y*ml")):
        if "expected-invalid" in path.parts or "experimental" in path.parts:
            continue
        documents += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]

    for round_number in range(1, args.rounds + 1):
        started = time.perf_counter()
        rejected = sum(1 for document in documents if catalog.validate(document))
        elapsed = time.perf_counter() - started
        print(f"round {round_number}: {len(documents)} objects in {elapsed:.2f} s "
              f"({1000 * elapsed / len(documents):.1f} ms/object, {rejected} rejected)")


if __name__ == "__main__":
    main()
