"""graph, advise and cost print byte-identical output whatever the hash seed (house rule)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

FEATURE_TOUR = str(REPO / "examples" / "feature-tour" / "intent.yaml")


@pytest.mark.parametrize("args", [
    ["graph", FEATURE_TOUR, "--platform", "linkerd"],
    ["graph", FEATURE_TOUR, "-o", "dot"],
    ["advise", FEATURE_TOUR, "-o", "json"],
    ["cost", FEATURE_TOUR, "--nodes", "3", "-o", "json"],
], ids=["mermaid", "dot", "advise", "cost"])
def test_same_bytes_under_two_hash_seeds(args):
    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True, env=env, check=False,
                              cwd=REPO)
        assert done.returncode == 0, done.stderr.decode()
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0]
