"""One rule for intent strings (issue 18): what Kubernetes and the targets accept, nothing more.

Each case was accepted before: Python's ``re.match(...$)`` lets a final newline through, query
parameter names and other fields took any string.
"""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from meshgen.intent.model import Gateway, IssuerRef, JwtRule, Peer, RequestMatch, Tracing
from meshgen.intent.types import Duration, HeaderName, HttpPath, Labels, Text

LISTENER = [{"port": 80, "protocol": "HTTP"}]


def _refused(model, data) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return str(caught.value)


@pytest.mark.parametrize("name", ["x-user\n", "X-User", "x user", "x-user\u2028"])
def test_header_names(name):
    with pytest.raises(ValidationError):
        TypeAdapter(HeaderName).validate_python(name)


@pytest.mark.parametrize("labels", [{"app": "api\n"}, {"app\n": "api"}, {"app": "\u00e4pi"}, {"a" * 64: "x"}])
def test_labels(labels):
    with pytest.raises(ValidationError):
        TypeAdapter(Labels).validate_python(labels)


def test_labels_accept_kubernetes_labels():
    labels = {"app.kubernetes.io/name": "api", "version": "v1.2_3", "empty": ""}
    assert TypeAdapter(Labels).validate_python(labels) == labels


def test_duration_trailing_newline():
    with pytest.raises(ValueError):
        Duration.parse("1s\n")
    assert Duration.parse("1m30s") == 90_000


@pytest.mark.parametrize("name", ["q\u2028", "q\n", "a b", "", "x" * 257])
def test_query_parameter_names(name):
    assert "queryParams" in _refused(RequestMatch, {"queryParams": {name: {"exact": "1"}}})


def test_query_parameter_names_accept_tokens():
    match = RequestMatch.model_validate({"queryParams": {"Page_Size.v2~": {"exact": "1"}}})
    assert list(match.query_params) == ["Page_Size.v2~"]


@pytest.mark.parametrize("char", ["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029"])
def test_text_refuses_controls_and_line_breaks(char):
    with pytest.raises(ValidationError, match="control character or line break"):
        TypeAdapter(Text).validate_python(f"a{char}b")


@pytest.mark.parametrize("value", ["plain", "ünïcödé ✓", "x: y # z", "\u00a0nbsp", "emoji \U0001f600", "\ufeffbom"])
def test_text_accepts_printable_unicode(value):
    assert TypeAdapter(Text).validate_python(value) == value


def test_paths():
    with pytest.raises(ValidationError):
        TypeAdapter(HttpPath).validate_python("/a\n")
    with pytest.raises(ValidationError):
        TypeAdapter(HttpPath).validate_python("/" + "a" * 1024)
    assert "1024" in _refused(RequestMatch, {"path": {"prefix": "/" + "a" * 1100}})


@pytest.mark.parametrize("method", ["G\u00c9T", "get", "GET\n", "GE T"])
def test_peer_methods_are_ascii_upper_case(method):
    _refused(Peer, {"namespace": "x", "methods": [method]})


def test_jwt_rule():
    base = {"issuer": "https://idp", "jwksUri": "https://idp/keys"}
    _refused(JwtRule, {**base, "jwksUri": "https://idp/a keys"})
    _refused(JwtRule, {**base, "issuer": "https://idp\n"})
    _refused(JwtRule, {**base, "requiredClaims": {"groups\u2028": ["a"]}})
    _refused(JwtRule, {**base, "audiences": ["a\x85"]})


def test_kubernetes_names_elsewhere():
    _refused(Gateway, {"name": "gw", "listeners": LISTENER, "className": "Istio Class"})
    _refused(IssuerRef, {"name": "ca", "group": "cert-manager.io\n"})
    _refused(Tracing, {"endpoint": "collector:4317\n"})
    assert Gateway.model_validate({"name": "gw", "listeners": LISTENER, "className": "istio.io-x"}).class_name


@pytest.mark.parametrize("reason", ["ok\nMG101 suppressed", "tab\there", "x" * 1025])
def test_accepted_reasons_are_one_line_of_text(reason):
    from meshgen.intent.model import AcceptedLoss, Suppression

    assert "reason" in _refused(Suppression, {"code": "MG101", "reason": reason})
    assert "reason" in _refused(AcceptedLoss, {"feature": "retry-budget", "reason": reason})
