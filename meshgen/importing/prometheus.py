"""``telemetry.monitorLabels`` and ``telemetry.alerts`` read back from the prometheus-operator
objects meshgen writes (:mod:`meshgen.platforms.prometheus`), on every platform.

- ``PodMonitor`` / ``ServiceMonitor`` meshgen wrote (label ``app.kubernetes.io/managed-by:
  meshgen``): their ``metadata.labels`` beyond meshgen's own are ``monitorLabels`` (the labels
  Prometheus' ``podMonitorSelector``/``serviceMonitorSelector`` match; fields:
  ../shared/crds/prometheus-operator, https://prometheus-operator.dev/docs/api-reference/api/).
  The label set most monitors carry gives them (ties: the monitors in the services'
  namespaces, then file order); a monitor with other labels differs from what the intent
  renders and is reported by the comparison (:mod:`meshgen.importing.operations`).
- The ``PrometheusRule`` meshgen wrote: its namespace (``alerts.namespace`` when it is not the
  services' namespace), its labels beyond meshgen's (``alerts.labels``, for the
  ``ruleSelector``), and from its rules (``spec.groups[].rules[]``, prometheus.plan_alerts):
  ``errorRatePercent`` from the ratio every ``MeshServiceErrorRateHigh`` compares with
  (``... > 0.02`` is 2), ``certificateExpiryDays`` from the ``MeshCertificateExpiringSoon``
  thresholds (``... < 1296000`` seconds). Each threshold is the smaller of those days and a
  bound set by the certificate's own renewal (cert_manager.cert_manager_watch/workload_watch),
  so the largest whole-day threshold is read: every larger value renders the same rules.
"""

from __future__ import annotations

import re
from typing import Any

from meshgen.importing.common import number
from meshgen.importing.findings import APPROXIMATED
from meshgen.importing.workloads import managed
from meshgen.platforms.sections import DAY_S

GROUP = "monitoring.coreos.com"
#: meshgen's defaults (meshgen.intent.model.Alerts).
DEFAULT_ERROR_RATE = 5
DEFAULT_EXPIRY_DAYS = 30
_COMPARISON = re.compile(r"\s([<>])\s*([0-9.eE+-]+)\s*$")


def _own_labels(obj) -> dict[str, str]:
    from meshgen.importing.operations import MESHGEN_LABELS

    return {str(k): str(v) for k, v in (obj.metadata.get("labels") or {}).items() if k not in MESHGEN_LABELS}


def read_monitoring(ctx) -> None:
    """Read monitor labels and the alert settings into ``ctx.telemetry`` (see the module docstring)."""
    run = ctx.run
    monitors = [o for kind in ("PodMonitor", "ServiceMonitor") for o in run.by_kind.get(kind, []) if o.group == GROUP and managed(o)]
    if monitors:
        # the label set most monitors carry; ties: the proxies' monitors in the services' namespaces, then file order
        apps = {k[0] for k in run.services}
        sets = [tuple(sorted(_own_labels(o).items())) for o in monitors]
        order = sorted(range(len(monitors)), key=lambda i: (-sets.count(sets[i]), monitors[i].namespace not in apps, monitors[i].file, monitors[i].line))
        labels = dict(sets[order[0]])
        if labels:
            ctx.telemetry["monitorLabels"] = labels
    rules = [o for o in run.by_kind.get("PrometheusRule", []) if o.group == GROUP and managed(o)]
    if not rules:
        return
    rule = sorted(rules, key=lambda o: (o.file, o.line))[0]
    alerts: dict[str, Any] = {}
    if rule.namespace and rule.namespace != run.home:
        alerts["namespace"] = rule.namespace
    ratios: set[float] = set()
    thresholds: list[int] = []
    for group in rule.spec.get("groups") or []:
        for item in (group or {}).get("rules") or []:
            found = _COMPARISON.search(str(item.get("expr") or ""))
            if found is None:
                continue
            if item.get("alert") == "MeshServiceErrorRateHigh" and found.group(1) == ">":
                ratios.add(round(float(found.group(2)) * 100, 6))
            elif item.get("alert") == "MeshCertificateExpiringSoon" and found.group(1) == "<":
                thresholds.append(int(float(found.group(2))))
    said = []
    if len(ratios) > 1:
        ctx.lost(rule, ("spec", "groups"), f"services alert at different error rates ({', '.join(f'{number(r)}%' for r in sorted(ratios))}); "
                 "the intent has one errorRatePercent: the default is kept and these thresholds are dropped")
    if len(ratios) == 1:
        percent = number(ratios.pop())
        said.append(f"errorRatePercent {percent}")
        if percent != DEFAULT_ERROR_RATE and 0 < percent <= 100:
            alerts["errorRatePercent"] = percent
    days = [t // DAY_S for t in thresholds if t % DAY_S == 0 and 1 <= t // DAY_S <= 365]
    if days:
        said.append(f"certificateExpiryDays {max(days)}")
        if max(days) != DEFAULT_EXPIRY_DAYS:
            alerts["certificateExpiryDays"] = max(days)
    labels = _own_labels(rule)
    if labels:
        alerts["labels"] = labels
    if alerts:
        ctx.telemetry["alerts"] = alerts
    run.f.add(rule, ("spec", "groups"), APPROXIMATED,
              "alert rules are regenerated from the imported intent's services"
              + (f" with {' and '.join(said)} read from their thresholds" if said else "")
              + " (a threshold bounded by a certificate's renewal reads as that bound, which renders the same rule)")
