"""The clean shortcut of meshgen.kube validation says exactly what the full path says.

:meth:`CRDCatalog.validate` first tries :meth:`CRDCatalog._validate_clean` (no JSON copy, no
pruning copy, no jsonschema walk for an object that is plainly clean; see
``meshgen/kube/structural.py`` ``clean_body`` and ``meshgen/kube/core.py`` ``check_core_clean``),
and the full path answers whenever the shortcut cannot vouch. Here a second catalog with the
shortcut switched off is the reference: about 20,000 objects (rendered objects of every platform
and the upstream examples, each broken in one to three seeded random ways: fields removed,
added, renamed, retyped, set to floats, dates, nulls, non-string keys, shared nodes, too long or
out of range) must get the same violations, same messages, same order, from both. The expected
value is the old code path, never the shortcut.
"""

from __future__ import annotations

import copy
import datetime
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.synthetic import intent_yaml
from meshgen import pipeline
from meshgen.kube import CRDCatalog
from meshgen.kube.catalog import _bundle_entries
from meshgen.loader import parse_intent
from meshgen.platforms.registry import names as platform_names

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "upstream-examples"
MUTANTS_PER_SEED = 26  # about 770 seed objects: about 20,000 broken objects


def _full_path_catalog() -> CRDCatalog:
    """A catalog of the same bundled CRDs whose validate never takes the shortcut."""
    catalog = CRDCatalog._from_entries(_bundle_entries(), False, "meshgen's bundled CRDs")
    catalog._validate_clean = lambda obj: None  # type: ignore[method-assign]
    return catalog


def _rendered(platform: str) -> list[dict[str, Any]]:
    intent = parse_intent(intent_yaml(12), Path("synthetic.yaml"))
    return pipeline.render(intent, platform, "synthetic.yaml").objects()


def _upstream() -> list[Any]:
    documents = []
    for path in sorted(EXAMPLES.rglob("*.y*ml")):
        if "experimental" in path.parts:
            continue
        try:
            documents += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
        except yaml.YAMLError:
            continue  # a template among the examples
    return documents


def _seeds() -> list[dict[str, Any]]:
    seeds, per_kind = [], Counter()
    for platform in platform_names():
        for obj in _rendered(platform):
            # A few of each kind: the mutations, not repetition, find differences.
            key = (platform, obj.get("apiVersion"), obj.get("kind"))
            per_kind[key] += 1
            if per_kind[key] <= 6:
                seeds.append(obj)
    return seeds + _upstream()


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path into ``value`` (dict keys and list indexes), the root included."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _get(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


_REPLACEMENTS: list[Any] = [
    None, "", "x" * 300, "*", "Not A Name!", "a" * 64, "80", "1.5", "-1", "30s", "bogus",
    -1, 0, 1, 65536, 2**40, True, False, 1.5, 2.0, [], {}, ["a"], [{}], [None], {"unknown": 1},
    {"name": "x"}, datetime.date(2024, 1, 2), {1: "a"}, {True: "b"}, {None: "c"},
]


def _mutate(obj: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    for _ in range(rng.randint(1, 3)):
        paths = _paths(obj)
        path = rng.choice(paths)
        target = _get(obj, path)
        parent = _get(obj, path[:-1]) if path else None
        action = rng.randrange(9)
        if action == 0 and path:  # remove it
            del parent[path[-1]]
        elif action == 1 and isinstance(target, dict):  # add an unknown field
            target[rng.choice(["unknown", "extra", "status", "spec", "metadata", "Name"])] = rng.choice(_REPLACEMENTS)
        elif action == 2 and isinstance(target, dict) and target:  # rename a field
            key = rng.choice(list(target))
            target[key + rng.choice(["X", "_", ""]) if isinstance(key, str) else "k"] = target.pop(key)
        elif action == 3 and isinstance(target, list) and target:  # duplicate an item
            target.append(copy.deepcopy(rng.choice(target)))
        elif action == 4 and path:  # share another node (a YAML alias); last, and never an ancestor
            other = rng.choice(paths)
            if other != path[:len(other)]:
                parent[path[-1]] = _get(obj, other)
                break
        elif action == 5 and path and isinstance(target, str):  # a nearby string
            parent[path[-1]] = rng.choice([target.upper(), target + "-", "-" + target, target * 20,
                                           target.replace("-", "_"), target + "*", ""])
        elif action == 6 and path and isinstance(target, int) and not isinstance(target, bool):
            parent[path[-1]] = rng.choice([target + 1, -target, target * 1000, float(target), str(target)])
        elif action == 7 and path:  # retype
            parent[path[-1]] = copy.deepcopy(rng.choice(_REPLACEMENTS))
        elif action == 8:  # envelope
            field = rng.choice(["apiVersion", "kind", "metadata"])
            obj[field] = rng.choice([None, "", "v1", "Service", {}, {"name": "x"}, {"generateName": "g-"},
                                     {"name": "n", "namespace": "Bad_NS"}, obj.get(field)])
    return obj


def _outcome(catalog: CRDCatalog, obj: Any) -> Any:
    try:
        return catalog.validate(obj)
    except Exception as err:  # noqa: BLE001  (both paths must fail alike, too)
        return (type(err).__name__, str(err))


@pytest.fixture(scope="module")
def seeds() -> list[dict[str, Any]]:
    return _seeds()


def test_shortcut_answers_for_rendered_objects(seeds):
    """The shortcut is taken at all (else the comparison below proves nothing about it)."""
    catalog = CRDCatalog.bundled()
    taken = sum(1 for obj in seeds if catalog._validate_clean(obj) is not None)
    assert taken > len(seeds) * 0.6, f"shortcut taken for {taken} of {len(seeds)} seed objects"


def test_shortcut_and_full_path_agree_on_broken_objects(seeds):
    shortcut = CRDCatalog._from_entries(_bundle_entries(), False, "meshgen's bundled CRDs")
    full = _full_path_catalog()
    rng = random.Random(17)
    compared = rejected = taken = 0
    differences = []
    for seed in seeds:
        for _ in range(MUTANTS_PER_SEED):
            mutant = _mutate(seed, rng)
            if shortcut._validate_clean(mutant) is not None:
                taken += 1
            expected, got = _outcome(full, mutant), _outcome(shortcut, mutant)
            compared += 1
            rejected += bool(expected) and isinstance(expected, list)
            if got != expected and len(differences) < 5:
                differences.append((mutant, expected, got))
    assert not differences, differences
    assert compared > 15_000
    # The mutants are broken in most cases and the shortcut still answers for some of them (a
    # mutation it accepts: a changed but valid value, a removed optional field).
    assert rejected > compared * 0.5, (rejected, compared)
    assert taken > compared * 0.1, (taken, compared)


def test_shortcut_and_full_path_agree_on_pristine_seeds(seeds):
    shortcut = CRDCatalog._from_entries(_bundle_entries(), False, "meshgen's bundled CRDs")
    full = _full_path_catalog()
    for seed in seeds:
        assert shortcut.validate(seed) == full.validate(seed), seed
