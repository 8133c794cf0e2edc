"""From a validated intent to the effective one every platform plans from.

:func:`resolve` applies ``spec.defaults`` once: a service without its own ``namespace``,
``timeout``, ``retries``, ``retryBudget`` or ``circuitBreaker`` takes the default's; a gateway
without a namespace takes ``defaults.namespace``, and so does the PrometheusRule of
``telemetry.alerts``. It returns a new intent and changes nothing in place: intent models are
frozen, so every platform, analyzer and test sees the same values however often it plans.
"""

from __future__ import annotations

from typing import Any

from meshgen.intent.model import Defaults, MeshIntent, Service

#: Service fields that inherit ``spec.defaults`` when unset (model attribute names).
INHERITED = ("timeout", "retries", "retry_budget", "circuit_breaker")


def _effective(svc: Service, defaults: Defaults) -> Service:
    update: dict[str, Any] = {}
    if svc.namespace is None:
        update["namespace"] = defaults.namespace
    for attr in INHERITED:
        if getattr(svc, attr) is None and getattr(defaults, attr) is not None:
            update[attr] = getattr(defaults, attr)
    return svc.model_copy(update=update) if update else svc


def resolve(intent: MeshIntent) -> MeshIntent:
    """The effective intent: ``spec.defaults`` applied to every service, gateway and the alerts.

    Args:
        intent: an intent validated by :class:`MeshIntent` (the loader calls this right after).

    Returns:
        A new intent (``intent`` is not changed); one that is already resolved comes back equal.
    """
    spec = intent.spec
    d = spec.defaults
    services = [_effective(svc, d) for svc in spec.services]
    gateways = [gw if gw.namespace is not None else gw.model_copy(update={"namespace": d.namespace}) for gw in spec.gateways]
    telemetry = spec.telemetry
    if telemetry.alerts.namespace is None:
        telemetry = telemetry.model_copy(update={"alerts": telemetry.alerts.model_copy(update={"namespace": d.namespace})})
    resolved = spec.model_copy(update={"services": services, "gateways": gateways, "telemetry": telemetry})
    return intent.model_copy(update={"spec": resolved})
