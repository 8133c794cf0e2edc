"""The command-line benchmark's intent renders without --allow-loss on every registered platform.

Not a timed test: `python benchmarks/bench_cli.py` prints timings, run by hand. What is tested here
is what its numbers rest on: the same synthetic intent is accepted, loss gate included, by every
platform the registry lists (new ones too), so every platform is timed on the work users run.
"""

from __future__ import annotations

import pytest

from benchmarks.synthetic import USED_FEATURES, intent_data, intent_yaml
from meshgen import pipeline
from meshgen.capabilities import Feature
from meshgen.loader import load_intent
from meshgen.losses import judge
from meshgen.platforms.registry import names


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "intent.yaml"
    path.write_text(intent_yaml(60, portable=True), encoding="utf-8")
    return load_intent(path)


@pytest.mark.parametrize("platform", names())
def test_portable_intent_passes_the_loss_gate(portable, platform):
    rendering = pipeline.render(portable, platform, "intent.yaml")
    verdict = judge(rendering.plan.findings, portable, platform)  # no --allow-loss, no --accept-loss
    assert verdict.refused == ()
    assert len(rendering.files) > 60  # at least one file per service: the work was not skipped


def test_portable_intent_is_the_same_intent_plus_accepted_losses():
    plain, portable = intent_data(40), intent_data(40, portable=True)
    accepted = portable["spec"].pop("acceptedLosses")
    assert portable == plain
    assert [a["feature"] for a in accepted] == list(USED_FEATURES)
    assert all(a["reason"] and "platform" not in a for a in accepted)
    assert set(USED_FEATURES) <= {f.value for f in Feature}


def test_plain_intent_is_refused_somewhere(tmp_path):
    # Without the acceptances some platform refuses, so the test above can fail.
    path = tmp_path / "intent.yaml"
    path.write_text(intent_yaml(60), encoding="utf-8")
    intent = load_intent(path)
    refused = {p for p in names() if judge(pipeline.render(intent, p, "intent.yaml").plan.findings, intent, p).refused}
    assert "linkerd" in refused and "kubernetes" in refused
