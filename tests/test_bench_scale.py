"""The scale benchmark stays runnable: its synthetic intents are valid and its script prints a table.

Not a timed test: timings are only printed by `python benchmarks/bench_scale.py`, run by hand.
"""

from __future__ import annotations

import subprocess
import sys

import yaml

from benchmarks.synthetic import intent_data, intent_yaml, team_files
from meshgen.loader import load_intent, load_intents
from tests.conftest import REPO


def test_synthetic_intent_is_valid_and_deterministic(tmp_path):
    assert intent_yaml(60) == intent_yaml(60)
    path = tmp_path / "intent.yaml"
    path.write_text(intent_yaml(60))
    intent = load_intent(path)
    assert len(intent.spec.services) == 60
    assert {s.namespace for s in intent.spec.services} == {"team-000", "team-001"}
    edges = sum(len(s.allow_from) for s in intent.spec.services)
    assert 120 <= edges <= 240  # about three callers per service
    assert sum(1 for s in intent.spec.services if s.versions) >= 10


def test_team_split_merges_back_to_the_same_intent(tmp_path):
    for name, text in team_files(120).items():
        (tmp_path / name).write_text(text)
    single = tmp_path / "single.yaml"
    single.write_text(intent_yaml(120))
    merged = load_intents([tmp_path / n for n in ("mesh.yaml", "team-000.yaml", "team-001.yaml", "team-002.yaml")])
    assert merged.model_dump() == load_intent(single).model_dump()
    assert len(yaml.safe_load((tmp_path / "team-002.yaml").read_text())["spec"]["services"]) == 20
    assert intent_data(120)["spec"]["services"][119]["namespace"] == "team-002"


def test_script_prints_a_row_per_size_and_platform():
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_scale.py"),
            "--sizes",
            "10",
            "--platforms",
            "istio",
            "--repeat",
            "1",
            "--markdown",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "| services | platform | intent KB | edges | objects | load s | validate s | plan s | render s | write s |"
    )
    # 44 traffic and security objects + PodMonitor, istiod ServiceMonitor and PrometheusRule.
    # 6 KB: the synthetic intent now carries its two reasoned analyzer suppressions.
    assert lines[2].startswith("| 10 | istio | 6 | 29 | 47 |")
