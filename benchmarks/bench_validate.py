"""Time meshgen.kube validation (a script, not a test).

Run from the repository root::

    python benchmarks/bench_validate.py [--rounds 3] [--crds DIR]        # upstream examples
    python benchmarks/bench_validate.py --services 1000 [--platform istio] # a synthetic mesh

The first form validates the upstream examples in tests/fixtures/upstream-examples/ against the
bundled catalog (or ``--crds DIR``) and prints catalog load time and time per object. The second
renders the synthetic intent of ``benchmarks/synthetic.py`` and prints, in CPU seconds, what
``meshgen validate`` does beyond a render: parsing the rendered YAML back and checking every
object (first pass, with schemas and CEL rules compiled on first use, then a warm pass).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from meshgen.kube import CRDCatalog, validate_objects  # noqa: E402  (needs the path set above)


def _catalog(crds: Path | None) -> CRDCatalog:
    started = time.process_time()
    catalog = CRDCatalog.from_directory(crds) if crds else CRDCatalog.bundled()
    elapsed = time.process_time() - started
    print(f"catalog: {len(catalog.kinds())} kinds from {catalog.source} loaded in {elapsed:.2f} s")
    return catalog


def examples(rounds: int, crds: Path | None) -> None:
    catalog = _catalog(crds)
    root = REPO / "tests" / "fixtures" / "upstream-examples"
    documents = []
    for path in sorted(root.rglob("*.y*ml")):
        if "expected-invalid" in path.parts or "experimental" in path.parts:
            continue
        documents += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    for round_number in range(1, rounds + 1):
        started = time.process_time()
        rejected = sum(1 for document in documents if catalog.validate(document))
        elapsed = time.process_time() - started
        print(f"round {round_number}: {len(documents)} objects in {elapsed:.2f} s "
              f"({1000 * elapsed / len(documents):.1f} ms/object, {rejected} rejected)")


def synthetic(services: int, platform: str, crds: Path | None) -> None:
    from benchmarks.synthetic import intent_yaml
    from meshgen import pipeline
    from meshgen.loader import parse_intent

    intent = parse_intent(intent_yaml(services), Path("synthetic.yaml"))
    started = time.process_time()
    rendering = pipeline.render(intent, platform, "synthetic.yaml")
    render_s = time.process_time() - started
    catalog = _catalog(crds)
    started = time.process_time()
    objects = rendering.objects()
    parse_s = time.process_time() - started
    for label in ("first", "warm"):
        started = time.process_time()
        problems = validate_objects(objects, catalog)
        check_s = time.process_time() - started
        print(f"{services} services, {platform}: {len(objects)} objects; plan+render {render_s:.2f} s, "
              f"parse back {parse_s:.2f} s, check ({label}) {check_s:.2f} s, {len(problems)} problems")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="validation passes to time (examples)")
    parser.add_argument("--crds", type=Path, help="a CRD directory instead of the bundled catalog")
    parser.add_argument("--services", type=int, help="validate a rendered synthetic mesh of this size")
    parser.add_argument("--platform", default="istio")
    args = parser.parse_args()
    if args.services:
        synthetic(args.services, args.platform, args.crds)
    else:
        examples(args.rounds, args.crds)


if __name__ == "__main__":
    main()
