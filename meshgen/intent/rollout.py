"""Progressive delivery in the intent: a rollout controller advances or rolls back a canary by itself.

``services[].rollout`` says *how* a new version of the service's workload is brought in: canary
steps (traffic weights held for an interval each) or blue-green, the analysis that decides at
every interval whether to go on (success rate, p99 latency) and how many failed checks roll
back, optional webhooks (a load test, a manual gate), and which controller does it: Flagger
(``Canary``, ``flagger.app/v1beta1``) or Argo Rollouts (``Rollout``, ``argoproj.io/v1alpha1``).
``spec.delivery`` holds the intent-wide settings (the default controller, the Prometheus the
analysis queries).

A service with a rollout has no static ``versions``: the controller shifts traffic between the
stable (Flagger: primary) and the canary workload itself (rule in :mod:`meshgen.intent.rules`).

Sources: Flagger ``Canary.spec.analysis`` (interval, threshold, stepWeights, iterations, metrics,
webhooks) https://docs.flagger.app/usage/how-it-works#canary-analysis and the CRD
``canaries.flagger.app``; Argo Rollouts ``Rollout.spec.strategy.canary.steps`` (setWeight, pause,
analysis) and ``AnalysisTemplate`` (``successCondition``, ``failureLimit``, ``interval``)
https://argo-rollouts.readthedocs.io/en/stable/features/canary/ and the CRD ``rollouts.argoproj.io``.
"""

# No ``from __future__ import annotations``: pydantic would evaluate every field annotation from
# its string when building the models, about 6-13 ms of every command (issue 17); the schemas
# are the same either way. Annotations naming a class defined further down are quoted.
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from meshgen.intent.types import Duration, Name, Text, Token

#: The controllers meshgen configures. ``flagger``: https://docs.flagger.app;
#: ``argo-rollouts``: https://argo-rollouts.readthedocs.io.
Controller = Literal["flagger", "argo-rollouts"]

_HTTP_URL = r"^https?://"


class _Model(BaseModel):
    # Same conventions as meshgen.intent.model.IntentModel (camelCase keys, unknown keys
    # rejected, frozen); repeated here because model.py imports this module.
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, validate_default=True
    )


class RolloutStep(_Model):
    """One canary step: send ``weight`` percent of the service's traffic to the canary and hold.

    Flagger: one entry of ``analysis.stepWeights`` (it holds every step for ``analysis.interval``);
    Argo Rollouts: ``steps[].setWeight`` followed by ``steps[].pause.duration``.
    """

    weight: int = Field(ge=1, le=100, description="Percent (1-100) of traffic sent to the canary at this step.")
    pause: Duration | None = Field(
        None,
        description=(
            "How long to hold this step before the next, e.g. 5m. Default: rollout.interval. "
            "Flagger holds every step for one interval, so a different pause is reported there."
        ),
    )


class RolloutAnalysis(_Model):
    """What the controller checks at every interval, from the mesh's own request metrics.

    Flagger: ``analysis.metrics`` (``request-success-rate`` minimum in percent,
    ``request-duration`` maximum in milliseconds) and ``analysis.threshold``; Argo Rollouts: an
    ``AnalysisTemplate`` with the same Prometheus queries, ``successCondition`` and ``failureLimit``.
    """

    success_rate: float = Field(
        99, gt=0, le=100, description="Lowest share of non-5xx responses to pass, percent (0-100]. Default 99."
    )
    latency_p99: Duration | None = Field(
        Duration(500), description="Highest p99 request latency to pass, e.g. 500ms. Default 500ms; null = not checked."
    )
    failure_limit: int = Field(
        5, ge=1, le=100, description="Failed checks before the controller rolls back (Flagger threshold). Default 5."
    )
    iterations: int = Field(
        10, ge=1, le=1000, description="Blue-green only: checks that must pass before traffic switches. Default 10."
    )


class LoadTest(_Model):
    """A webhook that generates traffic during analysis, so a canary nobody calls yet is measured.

    Flagger: ``analysis.webhooks[]`` of ``type: rollout`` with ``metadata.cmd`` (flagger-loadtester);
    Argo Rollouts: a ``web`` metric of the AnalysisTemplate posting the same body.
    """

    url: Token = Field(
        pattern=_HTTP_URL, max_length=2048, description="The load tester's URL, e.g. http://flagger-loadtester.test/."
    )
    command: Text = Field(
        min_length=1, max_length=4096, description="The command the load tester runs, e.g. hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/."
    )


class ManualGate(_Model):
    """Stop before promotion until a person approves.

    Flagger: a ``confirm-promotion`` webhook on ``url`` (flagger-loadtester's ``/gate/check``);
    Argo Rollouts: a ``pause: {}`` step without duration, resumed with ``kubectl argo rollouts promote``.
    """

    url: Token | None = Field(
        None,
        pattern=_HTTP_URL,
        max_length=2048,
        description="Flagger only: the gate the controller asks, e.g. http://flagger-loadtester.test/gate/check.",
    )


class RolloutWebhooks(_Model):
    """Optional hooks of the analysis."""

    load_test: LoadTest | None = Field(None, description="Generate traffic during the analysis. Default: none.")
    manual_gate: ManualGate | None = Field(None, description="Wait for approval before promotion. Default: none.")


class Rollout(_Model):
    """How a new version of the service rolls out, and who does it (``services[].rollout``).

    Canary (default): ``steps`` of increasing weights, each held for ``interval`` (or its own
    ``pause``), analysed at every interval; ``failureLimit`` failed checks roll back. Blue-green:
    the new version runs beside the old one, ``iterations`` checks pass, then all traffic switches.
    """

    controller: Controller | None = Field(
        None, description="flagger | argo-rollouts. Default: spec.delivery.controller."
    )
    workload: Name | None = Field(
        None, description="The Deployment the controller takes over. Default: the service name."
    )
    strategy: Literal["canary", "blue-green"] = Field("canary", description="canary | blue-green. Default canary.")
    steps: list[RolloutStep] = Field(
        default_factory=list,
        max_length=32,
        description="Canary only: at least one step, weights strictly increasing, at most 32.",
    )
    interval: Duration = Field(
        Duration(60_000), description="Time between analysis checks, and at each step unless it sets pause. Default 1m."
    )
    analysis: RolloutAnalysis = Field(
        default_factory=RolloutAnalysis, description="What passes a check, and how many failed checks roll back."
    )
    webhooks: RolloutWebhooks = Field(
        default_factory=RolloutWebhooks, description="Load test and manual gate. Default: none."
    )

    @model_validator(mode="after")
    def _steps_fit_the_strategy(self) -> "Rollout":
        if self.strategy == "canary":
            if not self.steps:
                raise ValueError("a canary rollout needs steps, e.g. [{weight: 10}, {weight: 50}]")
            weights = [s.weight for s in self.steps]
            if any(b <= a for a, b in zip(weights, weights[1:])):
                raise ValueError(f"step weights must strictly increase, got {weights}")
        elif self.steps:
            raise ValueError("a blue-green rollout switches all traffic at once: remove steps")
        if self.interval.ms < 1000:
            raise ValueError(f"interval {self.interval} is shorter than 1s; Prometheus rates need a window of seconds")
        return self

    def controller_of(self, delivery: "Delivery") -> str:
        """The controller that runs this rollout: its own, else ``spec.delivery.controller``."""
        return self.controller or delivery.controller

    def pause_of(self, step: RolloutStep) -> Duration:
        """How long ``step`` is held: its pause, else the rollout's interval."""
        return step.pause if step.pause is not None else self.interval


class Delivery(_Model):
    """Intent-wide progressive-delivery settings (``spec.delivery``)."""

    controller: Controller = Field("flagger", description="flagger | argo-rollouts for every rollout. Default flagger.")
    prometheus: Token = Field(
        "http://prometheus-operated.monitoring:9090",
        pattern=_HTTP_URL,
        max_length=2048,
        description=(
            "Address of the Prometheus the analysis queries. Default http://prometheus-operated.monitoring:9090 "
            "(the Service prometheus-operator creates for a Prometheus in namespace monitoring)."
        ),
    )
