"""Score every registered platform for one intent; every point comes with a checkable reason.

A platform's score is the sum of its :class:`Contribution` s (rules in
``meshgen/data/advise-rules.yaml``, sources cited there and in README "Before you choose"):

- justification: each signal that holds (``services >= 10``, ``context.teams >= 2``,
  ``context.languages >= 2``, ``context.mtlsRequired``) adds its points to every mesh; below the
  service threshold the no-mesh baseline gets the service points instead;
- operational weight: the profile's (negative) weight times the capacity factor of
  ``context.operationalCapacity`` (low 2, medium 1, high 0);
- features: for each feature the intent uses, the platform's support level (native 0,
  approximated -1, not-expressible -3) times the feature's weight. "Uses" and the level come
  from the capability findings of the platform's own plan (:func:`meshgen.pipeline.plan`, the
  matrix cell of :func:`meshgen.platforms.registry.matrix` or worse for this instance): a
  feature is used when any platform reports it, and native where a platform reports nothing;
- context: ``clusters > 1`` and ``vms`` add the profile's points; a kernel older than the
  profile's ``minKernel`` makes the platform ineligible (ranked last, score kept for reading);
  ``latencySlo`` below ``p99PerHopMs x hops`` of the longest call path costs ``latency.points``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshgen.advise import rules
from meshgen.callgraph.paths import CallPath, longest
from meshgen.capabilities import FEATURE_INTENT, Feature, Support
from meshgen.intent.model import Context, MeshIntent

_RANK = {Support.NATIVE: 0, Support.APPROXIMATED: 1, Support.NOT_EXPRESSIBLE: 2}


@dataclass(frozen=True)
class Contribution:
    """One line of a breakdown: ``rule`` (e.g. ``services``, ``feature authz-l7``), signed integer
    ``points``, and ``reason``: the facts compared and the source."""

    rule: str
    points: int
    reason: str


@dataclass
class Ranked:
    """One platform's result: ``score`` = sum of ``breakdown`` points; ``eligible`` False when a
    hard requirement (kernel) fails, ``excluded`` saying why."""

    platform: str
    mesh: bool
    breakdown: list[Contribution] = field(default_factory=list)
    eligible: bool = True
    excluded: str = ""

    @property
    def score(self) -> int:
        """Sum of the breakdown's points."""
        return sum(c.points for c in self.breakdown)


@dataclass(frozen=True)
class Advice:
    """The whole answer.

    Attributes:
        intent: ``metadata.name``.
        size: ``services``, ``pods`` (sum of replicas), ``namespaces``, ``teams`` (None: unknown).
        features: feature name -> platform -> support level, for every feature the intent uses.
        weights: feature name -> the weight its points are multiplied by (0: not counted).
        longest_path: the longest call path from an entry point (None without services).
        ranking: every registered platform, best first.
    """

    intent: str
    size: dict[str, int | None]
    context: Context
    features: dict[str, dict[str, Support]]
    weights: dict[str, int]
    longest_path: CallPath | None
    ranking: list[Ranked]

    @property
    def recommended(self) -> str:
        """The first platform of the ranking."""
        return self.ranking[0].platform


def advise(intent: MeshIntent) -> Advice:
    """Rank every registered platform for the validated ``intent`` (see the module docstring).

    Raises:
        MeshgenError: the rules file lacks a registered platform's profile (a meshgen bug).
    """
    from meshgen import pipeline
    from meshgen.platforms.registry import names

    spec = intent.spec
    context = spec.context or Context()
    data = rules.load()
    size = {
        "services": len(spec.services),
        "pods": sum(s.replicas for s in spec.services),
        "namespaces": len({s.namespace for s in spec.services}),
        "teams": context.teams,
    }
    levels: dict[str, dict[str, Support]] = {}  # feature -> platform -> worst level reported
    for name in names():
        for finding in pipeline.plan(intent, name).findings:
            row = levels.setdefault(finding.feature.value, {})
            if _RANK[finding.support] > _RANK[row.get(name, Support.NATIVE)]:
                row[name] = finding.support
    features = {
        f.value: {p: levels[f.value].get(p, Support.NATIVE) for p in names()} for f in Feature if f.value in levels
    }
    path = longest(intent)
    ranking = [_score(name, data, size, context, features, path) for name in names()]
    order = {name: k for k, name in enumerate(names())}
    ranking.sort(key=lambda r: (not r.eligible, -r.score, order[r.platform]))
    weights = {f: _weight(data["features"], f, context) for f in features}
    return Advice(intent.metadata.name, size, context, features, weights, path, ranking)


def _score(name: str, data: dict, size: dict, context: Context, features: dict[str, dict[str, Support]],
           path: CallPath | None) -> Ranked:
    profile = rules.profile(name)
    out = Ranked(name, profile.mesh)
    add = out.breakdown.append
    just = data["justification"]
    services = just["services"]
    big = size["services"] >= services["atLeast"]
    if big == profile.mesh:
        compare = ">=" if big else "<"
        add(Contribution("services", services["points"],
                         f"{size['services']} services {compare} {services['atLeast']} ({services['source']})"))
    if profile.mesh:
        for key, value in (("teams", context.teams), ("languages", context.languages)):
            rule = just[key]
            if value is not None and value >= rule["atLeast"]:
                add(Contribution(key, rule["points"], f"{value} {key} >= {rule['atLeast']} ({rule['source']})"))
        if context.mtls_required:
            rule = just["mtlsRequired"]
            add(Contribution("mtls-required", rule["points"], f"mutual TLS is required ({rule['source']})"))
    factor = data["capacity"]["factor"][context.operational_capacity]
    if profile.operational_weight and factor:
        add(Contribution("operational weight", profile.operational_weight * factor,
                         f"{profile.operational_weight} x {factor} (capacity {context.operational_capacity}); "
                         f"{profile.source}"))
    spec_features = data["features"]
    for feature, row in features.items():
        level = row[name]
        weight = _weight(spec_features, feature, context)
        points = spec_features["points"][level.value] * weight
        if points:
            add(Contribution(f"feature {feature}", points,
                             f"{FEATURE_INTENT[Feature(feature)]}: {level.value} on {name} (x{weight})"))
    if context.clusters > 1 and profile.multi_cluster:
        add(Contribution("multi-cluster", profile.multi_cluster, f"{context.clusters} clusters; {profile.source}"))
    if context.vms and profile.vms:
        add(Contribution("vms", profile.vms, f"virtual machines join; {profile.source}"))
    old_kernel = context.kernel_version is not None and profile.min_kernel is not None
    if old_kernel and rules.kernel(context.kernel_version) < profile.min_kernel:
        need = ".".join(map(str, profile.min_kernel))
        out.eligible = False
        out.excluded = f"needs Linux {need}+, the oldest node runs {context.kernel_version} ({profile.source})"
        add(Contribution("kernel", 0, f"excluded: {out.excluded}"))
    if context.latency_slo is not None and path is not None:
        _latency(out, profile, data["latency"], int(context.latency_slo), path)
    return out


def _weight(spec: dict, feature: str, context: Context) -> int:
    row = spec["weights"].get(feature)
    if row is None:
        return int(spec["weight"])
    if context.mtls_required and "whenMtlsRequired" in row:
        return int(row["whenMtlsRequired"])
    return int(row["weight"])


def _latency(out: Ranked, profile: rules.Profile, rule: dict, slo_ms: int, path: CallPath) -> None:
    if profile.p99_per_hop_ms is None:
        out.breakdown.append(Contribution("latency", 0, f"no per-hop p99 figure to compare with the SLO ({profile.source})"))
        return
    added = profile.p99_per_hop_ms * path.hops
    if added > slo_ms:
        out.breakdown.append(Contribution(
            "latency", rule["points"],
            f"{path.hops} hops x {profile.p99_per_hop_ms:g} ms = {added:g} ms p99 > SLO {slo_ms} ms "
            f"({' -> '.join(path.services)}; {rule['source']})",
        ))
