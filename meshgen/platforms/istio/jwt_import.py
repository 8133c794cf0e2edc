"""Istio JWT objects -> the intent's ``requestAuthentication``: the inverse of what
:meth:`meshgen.platforms.istio.platform.IstioPlatform._authorization` writes for a JwtRule.

The platform writes, per service with ``requestAuthentication``:

- a ``RequestAuthentication`` with one ``jwtRules`` entry (``issuer``, ``jwksUri``, ``audiences``):
  it validates a token when one is sent, and lets requests without one through
  (https://istio.io/latest/docs/reference/config/security/request_authentication/);
- an AuthorizationPolicy ``<service>-require-jwt``, action DENY, whose first rule is
  ``from: [{source: {notRequestPrincipals: ["*"]}}]`` (deny requests without a valid token) and
  one rule per required claim, ``when: [{key: request.auth.claims[NAME], notValues: [...]}]``
  (https://istio.io/latest/docs/reference/config/security/conditions/).

Read back: the RequestAuthentication gives issuer, jwksUri and audiences; the DENY rules of those
two shapes mark the token required and give ``requiredClaims``; an ALLOW source that adds
``requestPrincipals: ["*"]`` to its callers needs the same token. The intent's
``requestAuthentication`` always requires a token, so a RequestAuthentication whose token no
policy requires is imported stricter than it was, and said (it admits fewer, never more).
Field names: ``jwtRules[]`` properties of the bundled CRD requestauthentications.security.istio.io v1.
"""

from __future__ import annotations

import re
from typing import Any

from meshgen.importing.common import check_keys
from meshgen.importing.reader import SourceObject

#: An AuthorizationPolicy condition on one top-level claim (conditions docs above).
CLAIM_KEY = re.compile(r"^request\.auth\.claims\[([^\[\]]+)\]$")
#: jwtRules[] keys the intent's JwtRule holds (``jwks_uri`` is the CRD's older spelling of ``jwksUri``).
RULE_KEYS = {"issuer", "jwksUri", "jwks_uri", "audiences"}
#: Marks on an imported service dict while the policies are read (removed by :func:`finish`).
REQUIRED = "_jwtRequired"
SOURCE = "_jwtSource"


def read_request_authentication(run: Any, obj: SourceObject) -> None:
    """One RequestAuthentication -> ``requestAuthentication`` of the services its selector picks
    (or its ``targetRefs`` name, when ``run._ref_targets`` can say which).

    A second rule (another jwtRules entry, or another RequestAuthentication for the same service)
    is reported LOST: the intent holds one issuer, so tokens of that issuer are refused now.
    ``jwks`` inline keys (no ``jwksUri``) cannot be said and drop the rule (LOST).
    """
    spec = obj.spec
    # attached by targetRefs (ambient: the Service on its waypoint) when the run can say so
    attached = run._ref_targets(obj) if spec.get("targetRefs") else None
    check_keys(obj, spec, ("spec",), {"selector", "jwtRules"} | ({"targetRefs"} if attached is not None else set()), run.f)
    selector = (spec.get("selector") or {}).get("matchLabels")
    targets = attached if attached is not None else run._targets(obj, selector)
    for i, rule in enumerate(spec.get("jwtRules") or []):
        path = ("spec", "jwtRules", i)
        uri = rule.get("jwksUri") or rule.get("jwks_uri")
        if not rule.get("issuer") or not uri:
            run.f.lost(obj, path, "a JWT rule without issuer and jwksUri (inline jwks) is not expressible; dropped "
                       "(tokens of this issuer are no longer accepted)")
            continue
        check_keys(obj, rule, path, RULE_KEYS, run.f, "JWT option")
        entry: dict[str, Any] = {"issuer": str(rule["issuer"]), "jwksUri": str(uri)}
        if rule.get("audiences"):
            entry["audiences"] = [str(a) for a in rule["audiences"]]
        for key in targets:
            svc = run.services[key]
            if "requestAuthentication" in svc:
                first = svc[SOURCE]
                run.f.lost(obj, path, f"{key[1]} already takes tokens of {svc['requestAuthentication']['issuer']} "
                           f"({first.file}:{first.line}); the intent holds one issuer, so this one is dropped "
                           "(its tokens are refused)")
                continue
            svc["requestAuthentication"] = dict(entry)
            svc[SOURCE] = obj


def deny_rule(svc: dict, rule: dict) -> bool:
    """Consume a DENY rule that is one of the two shapes meshgen writes for ``svc``'s JwtRule
    (module docstring); False for any other rule, or when ``svc`` has no RequestAuthentication
    (then no request principal exists and the caller's rule handling applies)."""
    jwt = svc.get("requestAuthentication")
    if jwt is None:
        return False
    if rule == {"from": [{"source": {"notRequestPrincipals": ["*"]}}]}:
        svc[REQUIRED] = True
        return True
    when = rule.get("when") if set(rule) == {"when"} else None
    if isinstance(when, list) and len(when) == 1 and set(when[0]) == {"key", "notValues"}:
        match = CLAIM_KEY.match(str(when[0]["key"]))
        claims = jwt.setdefault("requiredClaims", {})
        if match and match.group(1) not in claims and when[0]["notValues"]:
            claims[match.group(1)] = [str(v) for v in when[0]["notValues"]]
            return True
        if not claims:
            del jwt["requiredClaims"]
    return False


def allow_source(svc: dict, source: dict) -> dict:
    """An ALLOW source without ``requestPrincipals: ["*"]`` when ``svc`` validates tokens: the
    intent's requestAuthentication asks every caller for the token. Other sources unchanged,
    and so is ``requestPrincipals`` alone (any caller with a token: the intent cannot say "any caller")."""
    rest = {k: v for k, v in source.items() if k != "requestPrincipals"}
    if svc.get("requestAuthentication") is not None and source.get("requestPrincipals") == ["*"] and rest:
        return rest
    return source


def finish(run: Any) -> None:
    """Report services whose token was optional (now required: admits fewer) and drop the marks."""
    for key, svc in sorted(run.services.items()):
        obj = svc.pop(SOURCE, None)
        required = svc.pop(REQUIRED, False)
        if obj is not None and not required:
            run.f.approximated(obj, ("spec", "jwtRules"), f"{key[1]}: no DENY notRequestPrincipals policy, so requests without a "
                               "token were let through; the intent's requestAuthentication requires a valid token on every "
                               "request (admits fewer)")
