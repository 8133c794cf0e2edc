"""The rollout block of the intent: shapes, defaults and the cross-field rules, with positions."""

from __future__ import annotations

import pytest

from meshgen.errors import IntentError
from meshgen.loader import load_intent
from tests.conftest import write_intent

HEAD = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: shop}
spec:
  defaults: {namespace: shop}
"""


def problems(tmp_path, text: str) -> list[str]:
    path = write_intent(tmp_path, text)
    with pytest.raises(IntentError) as info:
        load_intent(path)
    return [str(p).replace(str(path), "intent.yaml") for p in info.value.problems]


def test_defaults_of_a_canary(tmp_path):
    intent = load_intent(
        write_intent(
            tmp_path,
            HEAD
            + """\
  services:
    - name: podinfo
      ports: [{name: http, port: 9898}]
      rollout:
        steps: [{weight: 10}, {weight: 50, pause: 5m}]
""",
        )
    )
    spec = intent.spec
    rollout = spec.services[0].rollout
    assert spec.delivery.controller == "flagger"
    assert spec.delivery.prometheus == "http://prometheus-operated.monitoring:9090"
    assert rollout.controller_of(spec.delivery) == "flagger"
    assert rollout.strategy == "canary"
    assert [rollout.pause_of(s).ms for s in rollout.steps] == [60_000, 300_000]
    assert rollout.analysis.success_rate == 99
    assert rollout.analysis.latency_p99.ms == 500
    assert rollout.analysis.failure_limit == 5


def test_rollout_rules_all_at_once(tmp_path):
    text = (
        HEAD
        + """\
  delivery: {controller: argo-rollouts}
  services:
    - name: podinfo
      ports: [{name: http, port: 9898}]
      versions: [{name: v1, weight: 100}]
      rollout:
        steps: [{weight: 10}]
        webhooks: {manualGate: {url: "http://gate.test/check"}}
    - name: cache
      ports: [{name: redis, port: 6379, protocol: tcp}]
      rollout:
        controller: flagger
        strategy: blue-green
        webhooks: {manualGate: {}}
"""
    )
    assert problems(tmp_path, text) == [
        "intent.yaml:11:7: spec.services[0].rollout: a rollout and static versions on the same service: the controller "
        "shifts traffic between the stable and the canary workload itself; remove versions (and routes or callers naming "
        "them) or the rollout (also at intent.yaml:10:7)",
        "intent.yaml:13:38: spec.services[0].rollout.webhooks.manualGate.url: Argo Rollouts gates with a pause step "
        "resumed by `kubectl argo rollouts promote`, not a URL: remove url",
        "intent.yaml:16:7: spec.services[1].rollout: the rollout analysis reads HTTP request metrics (success rate, "
        "latency); service cache has only L4 ports: give it an http, http2 or grpc port",
        "intent.yaml:19:20: spec.services[1].rollout.webhooks.manualGate: Flagger gates promotion with a "
        "confirm-promotion webhook: set url, e.g. http://flagger-loadtester.test/gate/check",
    ]


@pytest.mark.parametrize(
    "rollout, words",
    [
        ("{}", "a canary rollout needs steps"),
        ("{steps: [{weight: 50}, {weight: 20}]}", "step weights must strictly increase, got [50, 20]"),
        ("{strategy: blue-green, steps: [{weight: 50}]}", "a blue-green rollout switches all traffic at once"),
        ("{steps: [{weight: 0}]}", "greater than or equal to 1"),
        ("{steps: [{weight: 10}], interval: 500ms}", "shorter than 1s"),
        ("{steps: [{weight: 10}], analysis: {successRate: 0}}", "greater than 0"),
        ("{steps: [{weight: 10}], controller: spinnaker}", "'flagger' or 'argo-rollouts'"),
    ],
)
def test_bad_rollouts(tmp_path, rollout, words):
    text = HEAD + f"""\
  services:
    - name: podinfo
      ports: [{{name: http, port: 9898}}]
      rollout: {rollout}
"""
    found = problems(tmp_path, text)
    assert len(found) == 1 and "spec.services[0].rollout" in found[0] and words in found[0], found


def test_one_rollout_per_workload(tmp_path):
    # Two rollouts of one Deployment planned two Rollouts of the same name (and crashed sorting them).
    text = (
        HEAD
        + """\
  services:
    - name: web
      ports: [{name: http, port: 80}]
      rollout: {steps: [{weight: 10}], workload: site}
    - name: site
      ports: [{name: http, port: 8080}]
      rollout: {steps: [{weight: 20}]}
"""
    )
    assert problems(tmp_path, text) == [
        "intent.yaml:12:7: spec.services[1].rollout: Deployment shop/site is already rolled out by service web: a "
        "workload has one controller object (Canary or Rollout); give this rollout its own workload "
        "(also at intent.yaml:9:7)",
    ]
