"""meshgen import --from consul: round trip over the examples, Consul's own samples, hand-made input.

Round trip: no shipped example renders on Consul without loss (Consul CE registers one port per
service, has no per-try timeout, fault injection or redirects at the gateway), so the loop runs
on the lossy render: ``render --allow-loss`` -> ``import`` -> ``check --allow-loss`` must find
every file identical (exit 0). Where it cannot, the test says which files differ and why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen import pipeline
from meshgen.importing.run import import_manifests
from meshgen.loader import parse_intent
from tests.conftest import EXAMPLES
from tests.platforms.consul_sim import Request, decide
from tests.workflow_helpers import lossy_round_trip, run

FIXTURES = Path(__file__).parent / "fixtures" / "upstream" / "consul"

#: Examples whose (lossy) Consul render imports back to the same render (hand-listed).
#: podinfo: Flagger has no Consul router, so its rollout writes nothing there (a reported loss).
#: production-identity: its values, PodMonitor, PrometheusRule and ProxyDefaults telemetry are read
#: back (operations_import.py); the cert-manager CA and the sampling rate render reported as the
#: built-in CA and Envoy's default, so the imported intent renders the same bytes.
ROUND_TRIP = {"bookinfo", "emojivoto", "online-boutique", "podinfo", "production-identity"}
#: The others: the files check finds changed after the loop, and why.
CHANGED = {
    # label-selected and version-narrowed callers are written as whole Consul services (a loss
    # render reports); the intentions' descriptions still name the original callers
    "feature-tour": {"changed  shop/serviceintentions-catalog.yaml"},
}


def test_every_example_is_classified():
    assert {p.parent.name for p in EXAMPLES} == ROUND_TRIP | set(CHANGED)


def _loop(tmp_path, example: str) -> set[str]:
    _, imported, listed = lossy_round_trip(tmp_path, example, "consul")  # consul guessed from consul.hashicorp.com
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    return listed


@pytest.mark.parametrize("example", sorted(ROUND_TRIP))
def test_render_import_render_is_identical(tmp_path, example):
    assert _loop(tmp_path, example) == set()


@pytest.mark.parametrize("example", sorted(CHANGED))
def test_examples_outside_the_loop_change_only_what_render_reported(tmp_path, example):
    assert _loop(tmp_path, example) == CHANGED[example]


SERVICES = """\
apiVersion: v1
kind: Service
metadata: {name: NAME}
spec: {selector: {app: NAME}, ports: [{name: http, port: 80, appProtocol: http}]}
"""


def _with_services(tmp_path, names, *texts) -> Path:
    docs = [SERVICES.replace("NAME", n) for n in names]
    (tmp_path / "services.yaml").write_text("---\n".join(docs))
    for i, text in enumerate(texts):
        (tmp_path / f"m{i}.yaml").write_text(text)
    return tmp_path


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """consul-k8s's intention fixtures (acceptance/tests/fixtures/bases) with the Services they name."""
    tmp = tmp_path_factory.mktemp("consul")
    files = ("intention__intention.yaml", "crds-oss__serviceintentions.yaml")
    _with_services(tmp, ["svc1", "svc2", "svc3", "static-server", "static-client"], *(FIXTURES.joinpath(f).read_text() for f in files))
    source = [d for f in sorted(tmp.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    result = import_manifests([tmp], "consul")
    intent = parse_intent(result.text, Path("imported.yaml"))
    rendered = [yaml.safe_load(d) for d in pipeline.render(intent, "consul", "imported.yaml").documents]
    return source, rendered, result


def test_upstream_intentions_import_without_loss(upstream):
    _, _, result = upstream
    assert result.losses == ()
    # svc2's ServiceDefaults has no protocol: Consul's default, tcp; no * -> * intention: closed
    # (m0.yaml is intention__intention.yaml, m1.yaml crds-oss__serviceintentions.yaml)
    assert sorted((Path(f.file).name, f.line, f.field) for f in result.findings if f.severity == "approximated") == [
        ("m0.yaml", 5, ""),  # the first ServiceIntentions carries the defaultDeny note
        ("m1.yaml", 12, "spec.protocol"),  # line 12: svc2's "apiVersion" (it has no spec)
        # line 35: svc3's permissions, with no catch-all: other requests get the ACL default
        ("m1.yaml", 35, "spec.sources[1].permissions"),
    ]
    spec = yaml.safe_load(result.text)["spec"]
    svc1 = next(s for s in spec["services"] if s["name"] == "svc1")
    assert svc1["allowFrom"] == [{"service": "svc2"}, {"service": "svc3", "methods": ["GET", "PUT"], "paths": ["/foo"]}]
    assert spec["mesh"]["defaultDeny"] is True


#: (request, decision on the input with ACL default deny, after import). Hand-written.
DECISIONS = [
    (Request("svc2", "svc1", "DELETE", "/anything"), True, True),
    (Request("svc3", "svc1", "GET", "/foo"), True, True),
    (Request("svc3", "svc1", "PUT", "/foo"), True, True),
    (Request("svc3", "svc1", "POST", "/foo"), False, False),
    (Request("svc3", "svc1", "GET", "/bar"), False, False),
    (Request("static-client", "svc1", "GET", "/"), False, False),
    (Request("static-client", "static-server", "GET", "/"), True, True),
    (Request("svc1", "static-server", "GET", "/"), False, False),
]


@pytest.mark.parametrize(("request_", "before", "after"), DECISIONS)
def test_decisions_survive_the_import(upstream, request_, before, after):
    source, rendered, _ = upstream
    assert decide(source, request_, acl_default_allow=False) is before
    assert decide(rendered, request_, acl_default_allow=False) is after


def test_with_acl_default_allow_the_import_admits_fewer(upstream):
    """The input leaves unmatched svc3 requests to the ACL default; the intent closes them."""
    source, rendered, _ = upstream
    request_ = Request("svc3", "svc1", "POST", "/foo")
    assert decide(source, request_, acl_default_allow=True) is True
    assert decide(rendered, request_, acl_default_allow=True) is False


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_upstream_files_import_alone_without_crashing(path):
    result = run("import", path, "--from", "consul", "--allow-loss")
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load(result.stdout)["kind"] == "MeshIntent"


def test_upstream_drops_are_reported(tmp_path):
    """Router, splitter, resolver redirect and terminating gateway samples for the Services they name."""
    files = ("crds-oss__servicerouter.yaml", "crds-oss__servicesplitter.yaml", "resolver-redirect__resolver.yaml", "crds-oss__servicedefaults.yaml")
    _with_services(tmp_path, ["router", "splitter", "resolver-redirect", "defaults", "foo"], *(FIXTURES.joinpath(f).read_text() for f in files))
    result = import_manifests([tmp_path], "consul")
    assert [(f.file.rsplit("/", 1)[1], f.line, f.ref, f.field) for f in result.losses] == [
        # m1 crds-oss__servicesplitter.yaml: a ServiceDefaults for a name no Service has (line 15)
        ("m1.yaml", 15, "ServiceDefaults other-splitter", "metadata.name"),
        # m2 resolver-redirect: "redirect:" on line 10
        ("m2.yaml", 10, "ServiceResolver resolver-redirect", "spec.redirect"),
        # m3 crds-oss__servicedefaults.yaml: upstreamConfig.defaults (12), override for bar (28),
        # balanceInboundConnections (34), rateLimits (35), envoyExtensions (47)
        ("m3.yaml", 12, "ServiceDefaults defaults", "spec.upstreamConfig.defaults"),
        ("m3.yaml", 28, "ServiceDefaults defaults", "spec.upstreamConfig.overrides[1].name"),
        ("m3.yaml", 34, "ServiceDefaults defaults", "spec.balanceInboundConnections"),
        ("m3.yaml", 35, "ServiceDefaults defaults", "spec.rateLimits"),
        ("m3.yaml", 47, "ServiceDefaults defaults", "spec.envoyExtensions"),
    ]
    spec = yaml.safe_load(result.text)["spec"]
    foo = next(s for s in spec["services"] if s["name"] == "foo")
    # the override for foo in defaults' ServiceDefaults is foo's circuit breaker
    assert foo["circuitBreaker"] == {"maxConnections": 3, "consecutiveErrors": 10, "interval": "1s", "baseEjectionTime": "20s", "maxEjectionPercent": 100}
    router = next(s for s in spec["services"] if s["name"] == "router")
    assert router["routes"] == [{"match": {"path": {"prefix": "/foo"}}}]


def _intentions(tmp_path, sources: str):
    text = (
        "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: api}\n"
        f"spec:\n  destination: {{name: api}}\n  sources:\n{sources}"
    )
    _with_services(tmp_path, ["api", "web"], text)
    result = import_manifests([tmp_path], "consul")
    spec = yaml.safe_load(result.text)["spec"]
    return result, next(s for s in spec["services"] if s["name"] == "api"), spec["mesh"]


def test_an_allow_before_a_deny_is_read_deny_first(tmp_path):
    sources = (
        "    - name: web\n      permissions:\n"
        "        - {action: allow, http: {pathPrefix: /admin/}}\n"
        "        - {action: deny, http: {pathExact: /admin/drop}}\n"
        "        - {action: allow, http: {pathPrefix: /}}\n"
    )
    result, api, _ = _intentions(tmp_path, sources)
    # Consul admits GET /admin/drop (the first permission matches); the intent denies it: fewer admitted
    assert api["allowFrom"] == [{"service": "web", "paths": ["/admin/*"]}, {"service": "web"}]
    assert api["denyFrom"] == [{"service": "web", "paths": ["/admin/drop"]}]
    assert any(f.field == "spec.sources[0].permissions[1]" and "denyFrom first" in f.message for f in result.findings)


def test_a_wildcard_allow_and_a_header_allow_are_dropped_closed(tmp_path):
    sources = (
        "    - name: '*'\n      action: allow\n"
        "    - name: web\n      permissions:\n        - {action: allow, http: {header: [{name: x-debug, exact: '1'}]}}\n"
    )
    result, api, mesh = _intentions(tmp_path, sources)
    assert "allowFrom" not in api
    assert mesh["defaultDeny"] is True  # no * -> * intention: closed
    assert [(f.field, f.severity) for f in result.losses] == [("spec.sources[0]", "LOST"), ("spec.sources[1].permissions[0].http", "LOST")]


def test_consul_is_guessed_from_its_api_group(tmp_path):
    _with_services(tmp_path, ["api"], "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceDefaults\nmetadata: {name: api}\nspec: {protocol: http}\n")
    assert import_manifests([tmp_path]).platform == "consul"


def test_synthetic_intent_differs_only_in_reported_descriptions(tmp_path):
    """benchmarks/synthetic.py's intent at 60 services (versions, circuit breakers, rate limits,
    cross-namespace callers): every changed line is an intention's description naming a caller
    narrowed to some versions, which render reports (Consul names whole services)."""
    from benchmarks.synthetic import intent_yaml

    source = tmp_path / "intent.yaml"
    source.write_text(intent_yaml(60))
    out = tmp_path / "out"
    assert run("render", source, "--platform", "consul", "--allow-loss", "--output", out).exit_code == 0
    imported = run("import", out / "consul")
    assert imported.exit_code == 0, imported.stderr
    intent = tmp_path / "imported.yaml"
    intent.write_text(imported.stdout)
    checked = run("check", intent, "--platform", "consul", "--allow-loss", "--output", out)
    diff = [line for line in checked.stdout.splitlines() if line[:1] in "+-" and not line.startswith(("---", "+++"))]
    # Callers narrowed to some versions are refused on Consul (issue 12: fail closed, reported LOST),
    # so no intention names them and the round trip reproduces every line.
    assert diff == [], diff[:5]


def test_deny_permissions_closed_by_a_catch_all_deny_deny_the_caller(tmp_path):
    sources = (
        "    - name: web\n      permissions:\n"
        "        - {action: deny, http: {pathPrefix: /admin/}}\n"
        "        - {action: deny, http: {pathPrefix: /}}\n"
    )
    text = (
        "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceIntentions\nmetadata: {name: mesh-default}\n"
        "spec:\n  destination: {name: '*'}\n  sources: [{name: '*', action: allow}]\n---\n"
    )
    _intentions(tmp_path, sources)  # writes the Services and the api intentions as m0.yaml
    (tmp_path / "m1.yaml").write_text(text)
    result = import_manifests([tmp_path], "consul")
    spec = yaml.safe_load(result.text)["spec"]
    api = next(s for s in spec["services"] if s["name"] == "api")
    assert spec["mesh"]["defaultDeny"] is False  # the * -> * allow
    # web may call nothing of api: the intent denies web outright (the /admin/ deny is inside it)
    assert api["denyFrom"] == [{"service": "web", "paths": ["/admin/*"]}, {"service": "web"}]
    assert "allowFrom" not in api
