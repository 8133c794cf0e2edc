"""The loss gate: which findings stop a render (exit 3), and which losses the team accepted.

A finding whose support is ``not-expressible`` loses intent. ``meshgen render``, ``check`` and
``validate`` refuse it unless it is accepted, by name, in one of two ways:

* the intent's ``spec.acceptedLosses`` (feature, optionally service and platform, and a reason);
* ``--accept-loss FEATURE[=SERVICE]`` on the command line (repeatable).

``--allow-loss`` accepts every loss and says so. An accepted loss is still printed. Accepting a
loss never widens access: what a platform cannot enforce is refused in the rendered policy (see
``services[].widenAccess`` for the explicit, per-service choice to widen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from meshgen.capabilities import Feature, Finding
from meshgen.errors import UsageError
from meshgen.intent.model import MeshIntent

#: The reason shown for losses accepted by the bare --allow-loss flag.
ALLOW_ALL = "--allow-loss accepts every loss"


@dataclass(frozen=True)
class Acceptance:
    """One accepted loss: a feature, where (None = everywhere), on which platform, and why."""

    feature: str
    service: str | None
    platform: str | None
    reason: str

    def covers(self, finding: Finding, platform: str) -> bool:
        """Whether this acceptance names ``finding`` on ``platform``."""
        if self.feature != finding.feature.value or (self.platform is not None and self.platform != platform):
            return False
        if self.service is None:
            return True
        subject = finding.subject.removeprefix("gateway ")
        return subject == self.service or ("/" not in self.service and subject.endswith("/" + self.service))


@dataclass(frozen=True)
class Verdict:
    """The gate's answer for one platform's findings.

    Attributes:
        refused: losses nobody accepted: the render must not proceed (exit 3).
        accepted: accepted losses, each with the reason it was accepted.
    """

    refused: tuple[Finding, ...]
    accepted: dict[Finding, str] = field(default_factory=dict)


def parse_accepts(values: Sequence[str]) -> list[Acceptance]:
    """``--accept-loss`` values, ``FEATURE`` or ``FEATURE=SERVICE``, as acceptances.

    Raises:
        UsageError: an unknown feature name (the message lists the known ones).
    """
    known = {f.value for f in Feature}
    out = []
    for value in values:
        feature, _, service = value.partition("=")
        if feature not in known:
            raise UsageError(f"--accept-loss {value}: unknown feature {feature!r}; expected one of: {', '.join(sorted(known))}")
        out.append(Acceptance(feature, service or None, None, f"--accept-loss {value}"))
    return out


def judge(findings: Sequence[Finding], intent: MeshIntent, platform: str, accepts: Sequence[Acceptance] = (), allow_all: bool = False) -> Verdict:
    """Split ``findings``' losses into refused and accepted ones (intent acceptances first, then ``accepts``)."""
    rules = [Acceptance(a.feature, a.service, a.platform, a.reason) for a in intent.spec.accepted_losses] + list(accepts)
    refused, accepted = [], {}
    for finding in findings:
        if not finding.loses_intent:
            continue
        reason = next((a.reason for a in rules if a.covers(finding, platform)), ALLOW_ALL if allow_all else None)
        if reason is None:
            refused.append(finding)
        else:
            accepted[finding] = reason
    return Verdict(tuple(refused), accepted)
