"""Kubernetes-flavoured CEL for ``x-kubernetes-validations`` rules, built on cel-python.

The API server evaluates CRD rules with cel-go plus Kubernetes' own libraries (strings, lists,
regex, URL, IP, format). cel-python (``celpy``) ships the CEL core; this module adds the
Kubernetes functions, converts objects the way the API server does (property-name escaping,
``format``-typed strings) and fixes the few places where celpy's macros swallow errors.

A rule is compiled once per distinct text (:func:`compile_expression` is cached). A rule that
uses something this environment does not implement raises :class:`UnsupportedCELError` at
compile time instead of quietly evaluating to an error later.
"""

from __future__ import annotations

import base64
import datetime
import functools
import ipaddress
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import celpy
import lark
import re2
from celpy import celtypes
from celpy.evaluation import CELEvalError, Evaluator, base_functions

from meshgen.kube.durations import parse_go_duration
from meshgen.kube.names import (
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    label_value_errors,
    qualified_name_errors,
)

__all__ = [
    "CELEvaluationError",
    "CompiledExpression",
    "UnsupportedCELError",
    "compile_expression",
    "parse_go_duration",
    "dns1035_label_errors",
    "dns1123_label_errors",
    "dns1123_subdomain_errors",
    "escape_property_name",
    "label_value_errors",
    "qualified_name_errors",
    "to_cel",
]


class UnsupportedCELError(Exception):
    """A rule this environment cannot compile (syntax or a function it does not implement)."""


class CELEvaluationError(Exception):
    """A rule failed at run time; the message is worded like cel-go's."""


# --- Go semantics that CEL's Kubernetes libraries inherit (durations: meshgen.kube.durations).


def _cel_duration(nanoseconds: int) -> celtypes.DurationType:
    seconds, nanos = divmod(nanoseconds, 10**9)
    return celtypes.DurationType(seconds, nanos)


_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_HOST_ALLOWED = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:\[\]<>\"%]*")
_USERINFO_ALLOWED = re.compile(r"[A-Za-z0-9\-._:~!$&'()*+,;=%@]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class URL:
    """The parts of a URL that Kubernetes' CEL URL library exposes (Go ``net/url`` rules)."""

    scheme: str
    host: str
    path: str
    query: str
    opaque: str = ""

    @classmethod
    def parse(cls, raw: str) -> URL:
        """Parse like Go's ``url.ParseRequestURI``: absolute URL or absolute path, no fragment.

        Raises:
            ValueError: with Go's wording, e.g. ``invalid URI for request``.
        """
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
            raise ValueError("net/url: invalid control character in URL")
        if raw == "":
            raise ValueError("empty url")
        if raw == "*":
            return cls("", "", "*", "")
        scheme, rest = "", raw
        colon = raw.find(":")
        if colon == 0:
            raise ValueError("missing protocol scheme")
        if colon > 0 and _URL_SCHEME.fullmatch(raw[:colon]):
            scheme, rest = raw[:colon].lower(), raw[colon + 1:]
        rest, _, query = rest.partition("?")
        if not rest.startswith("/"):
            if scheme:
                return cls(scheme, "", "", query, opaque=rest)
            raise ValueError("invalid URI for request")
        host = ""
        if scheme and rest.startswith("//"):
            authority, slash, path = rest[2:].partition("/")
            rest = slash + path
            userinfo, at, host = authority.rpartition("@")
            if at and not _USERINFO_ALLOWED.fullmatch(userinfo):
                raise ValueError("net/url: invalid userinfo")
            if _BAD_ESCAPE.search(userinfo):
                raise ValueError("invalid URL escape")
            _check_host(host)
        if _BAD_ESCAPE.search(rest):
            raise ValueError("invalid URL escape")
        return cls(scheme, host, rest, query)

    @property
    def hostname(self) -> str:
        if self.host.startswith("["):
            return self.host[1:self.host.find("]")]
        return self.host.rpartition(":")[0] if ":" in self.host else self.host

    @property
    def port(self) -> str:
        tail = self.host[self.host.find("]") + 1:] if self.host.startswith("[") else self.host
        return tail.rpartition(":")[2] if ":" in tail else ""


def _check_host(host: str) -> None:
    port_part = host[host.find("]") + 1:] if host.startswith("[") else host
    if host.startswith("[") and "]" not in host:
        raise ValueError("missing ']' in host")
    if ":" in port_part:
        port = port_part[port_part.rfind(":"):]
        if not port[1:].isdigit() and port != ":":
            raise ValueError(f'invalid port "{port}" after host')
    if not _HOST_ALLOWED.fullmatch(host):
        bad = next(c for c in host if not _HOST_ALLOWED.fullmatch(c))
        raise ValueError(f"invalid character {bad!r} in host name")


# --- The Kubernetes CEL function library, as celpy functions. Method calls ``x.f(a)`` reach
# ``f(x, a)``; errors are returned (not raised) so CEL's && / || can absorb them.

class Optional:
    """cel-go's ``optional`` value. Like cel-go, it never equals ``null``."""

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Optional) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


class Format:
    """A named Kubernetes string format (``format.dns1123Label()`` and friends)."""

    def __init__(self, check: Callable[[str], list[str]]) -> None:
        self.check = check


class FormatLibrary:
    """The value bound to the identifier ``format`` in rules."""


def _uri_errors(value: str) -> list[str]:
    try:
        URL.parse(value)
    except ValueError as err:
        return [str(err)]
    return []


_FORMATS: dict[str, Callable[[str], list[str]]] = {
    "dns1123Label": dns1123_label_errors,
    "dns1123Subdomain": dns1123_subdomain_errors,
    "dns1035Label": dns1035_label_errors,
    "qualifiedName": qualified_name_errors,
    "labelValue": label_value_errors,
    "uri": _uri_errors,
}


def _error(message: str) -> CELEvalError:
    return CELEvalError(message)


def _substring(text: str, start: int, end: int | None = None) -> Any:
    end = len(text) if end is None else end
    if not 0 <= start <= len(text):
        return _error(f"index out of range: {start}")
    if not start <= end <= len(text):
        return _error(f"index out of range: {end}")
    return celtypes.StringType(text[start:end])


def _index_of(container: Any, item: Any, start: int = 0) -> Any:
    if isinstance(container, str):
        if not 0 <= start <= len(container):
            return _error(f"index out of range: {start}")
        return celtypes.IntType(container.find(item, start))
    return celtypes.IntType(next((i for i, v in enumerate(container) if v == item), -1))


def _last_index_of(container: Any, item: Any) -> Any:
    if isinstance(container, str):
        return celtypes.IntType(container.rfind(item))
    matches = [i for i, v in enumerate(container) if v == item]
    return celtypes.IntType(matches[-1] if matches else -1)


def _split(text: str, separator: str, limit: int = -1) -> Any:
    if limit == 0:
        return celtypes.ListType()
    parts = list(text) if separator == "" else text.split(separator, limit - 1 if limit > 0 else -1)
    return celtypes.ListType(celtypes.StringType(p) for p in parts)


def _replace(text: str, old: str, new: str, limit: int = -1) -> Any:
    return celtypes.StringType(text.replace(old, new, limit))


def _logical(absorbing: bool) -> Callable[[Any, Any], Any]:
    """CEL's commutative ``&&`` (absorbing false) or ``||`` (absorbing true).

    The absorbing value wins over an error on either side; of two errors the left is reported
    (celpy would wrap both into an unreadable "no matching overload").
    """
    def operator(left: Any, right: Any) -> Any:
        sides = (left, right)
        if any(isinstance(v, (bool, celtypes.BoolType)) and bool(v) is absorbing for v in sides):
            return celtypes.BoolType(absorbing)
        for side in sides:
            if isinstance(side, CELEvalError):
                return side
            if not isinstance(side, (bool, celtypes.BoolType)):
                return _error(f"no such overload: logical operator on {type(side).__name__}")
        return celtypes.BoolType(not absorbing)
    return operator


def _conditional(condition: Any, if_true: Any, if_false: Any) -> Any:
    # An erroneous condition is the result (celpy would wrap it in an overload error).
    if isinstance(condition, CELEvalError):
        return condition
    if not isinstance(condition, (bool, celtypes.BoolType)):
        return _error(f"no such overload: {type(condition).__name__} ? _ : _")
    return if_true if condition else if_false


def _to_int(value: Any) -> Any:
    if isinstance(value, str):
        # Go's strconv.ParseInt: no spaces or underscores, unlike Python's int().
        if not re.fullmatch(r"[+-]?[0-9]+", value):
            return _error("type conversion error from 'string' to 'int'")
        return celtypes.IntType(int(value))
    return celtypes.IntType(value)


def _to_duration(value: Any) -> Any:
    if isinstance(value, datetime.timedelta):
        return value
    try:
        return _cel_duration(parse_go_duration(str(value)))
    except ValueError as err:
        return _error(f"type conversion error from 'string' to 'google.protobuf.Duration': {err}")


def _to_url(value: str) -> Any:
    try:
        return URL.parse(value)
    except ValueError as err:
        return _error(f'URL parse error during conversion from string: parse "{value}": {err}')


def _is_url(value: str) -> celtypes.BoolType:
    return celtypes.BoolType(not _uri_errors(value))


def _is_ip(value: str) -> celtypes.BoolType:
    """Kubernetes' isIP: Go netip syntax, without zones or IPv4-mapped IPv6 addresses."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return celtypes.BoolType(False)
    if isinstance(address, ipaddress.IPv6Address):
        return celtypes.BoolType(address.scope_id is None and address.ipv4_mapped is None)
    return celtypes.BoolType(True)


def _query(url: URL) -> celtypes.MapType:
    parsed = parse_qs(url.query, keep_blank_values=True)
    return celtypes.MapType({celtypes.StringType(k): celtypes.ListType(map(celtypes.StringType, v))
                             for k, v in parsed.items()})


def _find(text: str, pattern: str) -> Any:
    match = re2.search(pattern, text)
    return celtypes.StringType(match.group(0) if match else "")


def _find_all(text: str, pattern: str, limit: int = -1) -> Any:
    found = [m.group(0) for m in re2.finditer(pattern, text)]
    return celtypes.ListType(map(celtypes.StringType, found[:limit] if limit >= 0 else found))


def _sum(items: Sequence[Any]) -> Any:
    return functools.reduce(operator.add, items) if items else celtypes.IntType(0)


def _max(items: Sequence[Any]) -> Any:
    return max(items) if items else _error("max(list) argument must not be empty")


def _is_sorted(items: Sequence[Any]) -> celtypes.BoolType:
    return celtypes.BoolType(all(a <= b for a, b in zip(items, items[1:])))


def _validate_format(fmt: Format, value: str) -> Optional:
    errors = fmt.check(value)
    return Optional(celtypes.ListType(map(celtypes.StringType, errors)) if errors else None)


def _format_getter(check: Callable[[str], list[str]]) -> Callable[[FormatLibrary], Format]:
    return lambda _library: Format(check)


K8S_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "_&&_": _logical(absorbing=False),
    "_||_": _logical(absorbing=True),
    "_?_:_": _conditional,
    # strings extension (cel-go ext.Strings, as Kubernetes enables it)
    "charAt": lambda s, i: celtypes.StringType(s[i:i + 1]) if 0 <= i <= len(s)
    else _error(f"index out of range: {i}"),
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "lowerAscii": lambda s: celtypes.StringType(
        "".join(c.lower() if c.isascii() else c for c in s)),
    "upperAscii": lambda s: celtypes.StringType(
        "".join(c.upper() if c.isascii() else c for c in s)),
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "trim": lambda s: celtypes.StringType(s.strip()),
    "join": lambda items, sep="": celtypes.StringType(sep.join(items)),
    # Kubernetes regex and list libraries (list.min() is celpy's own macro)
    "find": _find,
    "findAll": _find_all,
    "isSorted": _is_sorted,
    "sum": _sum,
    "max": _max,
    # conversions with cel-go's wording and Go's duration grammar
    "int": _to_int,
    "duration": _to_duration,
    "dyn": lambda value: value,
    # Kubernetes URL and IP libraries
    "url": _to_url,
    "isURL": _is_url,
    "getScheme": lambda u: celtypes.StringType(u.scheme),
    "getHost": lambda u: celtypes.StringType(u.host),
    "getHostname": lambda u: celtypes.StringType(u.hostname),
    "getPort": lambda u: celtypes.StringType(u.port),
    "getEscapedPath": lambda u: celtypes.StringType(u.path),
    "getQuery": _query,
    "isIP": _is_ip,
    # Kubernetes format library and the optional values it returns
    "validate": _validate_format,
    "hasValue": lambda o: celtypes.BoolType(o.value is not None),
    "value": lambda o: o.value if o.value is not None else _error("optional.none() dereference"),
    **{name: _format_getter(check) for name, check in _FORMATS.items()},
}

_COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_MACROS = _COMPREHENSIONS | {"has"}
_KNOWN_FUNCTIONS = frozenset(base_functions) | frozenset(K8S_FUNCTIONS) | {"min"}
_VARIABLES = frozenset({"self", "oldSelf", "format"})


# --- Evaluation: celpy's interpreter, with cel-go's error semantics where they differ.

class _ErasedGeneric:
    """Stands in for ``typing.Tuple`` & co. where celpy subscripts them at run time."""

    def __getitem__(self, _parameters: Any) -> _ErasedGeneric:
        return self


def _erase_runtime_typing() -> None:
    """Make celpy's run-time type casts free.

    celpy's interpreter writes ``cast(Tuple[List[Result], Result], ...)`` inside its hottest
    methods (``relation``, ``addition``, ``conditionaland``, ``resolve_variable``); each such
    subscript goes through typing's cache, which hashes the large ``Result`` union every time.
    That was two thirds of the CEL time when validating a thousand services. ``cast`` does
    nothing at run time, so its type argument need not be built: these module globals are only
    used in such casts and in annotations (evaluated once, at import), never in isinstance.
    """
    import celpy.evaluation as evaluation

    erased = _ErasedGeneric()
    for name in ("Tuple", "List", "Dict", "Union"):
        setattr(evaluation, name, erased)
    evaluation.cast = lambda _type, value: value


_erase_runtime_typing()


class _K8sEvaluator(Evaluator):
    """celpy's interpreter with cel-go's error handling in has() and the comprehension macros."""

    def sub_evaluator(self, ast: lark.Tree) -> Evaluator:
        # Nested macros must keep these fixes too.
        return _K8sEvaluator(ast, activation=self.activation)

    def macro_has_eval(self, exprlist: lark.Tree) -> Any:
        # celpy turns has(a.b.c) into false when a.b is missing; cel-go reports that error.
        node = exprlist.children[0]
        while isinstance(node, lark.Tree) and node.data != "member_dot" and len(node.children) == 1:
            node = node.children[0]
        if not (isinstance(node, lark.Tree) and node.data == "member_dot"):
            return _error("invalid argument to has() macro")
        target = self.visit(node.children[0])
        if isinstance(target, CELEvalError):
            return target
        if not isinstance(target, Mapping):
            return _error(f"no such overload: has() on {type(target).__name__}")
        return celtypes.BoolType(celtypes.StringType(node.children[1].value) in target)

    def member_dot_arg(self, tree: lark.Tree) -> Any:
        method = tree.children[1].value
        if method not in _COMPREHENSIONS:
            return super().member_dot_arg(tree)
        # celpy counts an error as a match in exists_one/filter and mangles two errors in
        # all/exists; cel-go propagates the first error unless the result is already decided.
        items = self.visit(tree.children[0])
        if isinstance(items, CELEvalError):
            return items
        predicate = self.build_macro_eval(tree)

        def outcome(item: Any) -> Any:
            try:
                return predicate(item)
            except CELEvalError as err:  # celpy raises what cel-go keeps as an error value
                return err

        results = [(item, outcome(item)) for item in items]
        first_error = next((r for _, r in results if isinstance(r, CELEvalError)), None)
        decided = [bool(r) for _, r in results if not isinstance(r, CELEvalError)]
        if method == "all":
            return celtypes.BoolType(False) if not all(decided) else first_error or celtypes.BoolType(True)
        if method == "exists":
            return celtypes.BoolType(True) if any(decided) else first_error or celtypes.BoolType(False)
        if first_error is not None:
            return first_error
        if method == "exists_one":
            return celtypes.BoolType(sum(1 for _, r in results if r) == 1)
        if method == "filter":
            return celtypes.ListType(item for item, keep in results if keep)
        return celtypes.ListType(result for _, result in results)


class _K8sRunner(celpy.InterpretedRunner):
    def evaluate(self, context: Mapping[str, Any]) -> Any:
        return _K8sEvaluator(ast=self.ast, activation=self.new_activation()).evaluate(context)


@functools.cache
def _environment() -> celpy.Environment:
    # Built on the first compile, not at import: building it constructs Lark's LALR tables for
    # the CEL grammar (about 0.2 s), which a validation whose rules all have Python twins
    # (meshgen.kube.native_rules) never needs.
    return celpy.Environment(runner_class=_K8sRunner)


_FORMAT_LIBRARY = FormatLibrary()


@dataclass(frozen=True)
class CompiledExpression:
    """A CEL expression ready to evaluate against one ``self`` value."""

    text: str
    program: celpy.Runner
    uses_old_self: bool
    #: What of ``self`` the expression reads: ``(use, path)`` pairs, ``path`` a tuple of (escaped)
    #: field names and integer indexes from ``self``, ``use`` one of ``"has"`` (only presence of
    #: the last step), ``"size"`` (only its size) or ``"value"``. ``self.all(x, ...)`` reads
    #: ``("value", ())``, the whole value. Validation keys its cache of verdicts on these parts.
    self_uses: tuple[tuple[str, tuple[str | int, ...]], ...] = ()

    def evaluate(self, self_value: Any) -> Any:
        """The expression's value with ``self`` bound to ``self_value`` (a CEL value).

        Raises:
            CELEvaluationError: the expression failed as it would in the API server (no such
                key, bad conversion, ...).
            UnsupportedCELError: cel-python itself could not evaluate it.
        """
        try:
            return self.program.evaluate({"self": self_value, "format": _FORMAT_LIBRARY})
        except CELEvalError as err:
            text = _error_text(err)
            if text.startswith("undeclared reference"):
                raise UnsupportedCELError(text) from None
            raise CELEvaluationError(text) from None
        except Exception as err:  # noqa: BLE001 - any escape is a cel-python gap, not a verdict
            raise UnsupportedCELError(f"cel-python failed: {type(err).__name__}: {err}") from None


    def holds(self, self_value: Any) -> bool:
        """Whether a validation rule is satisfied by ``self_value``.

        Raises:
            CELEvaluationError: the rule failed, or its value is not a bool.
            UnsupportedCELError: cel-python itself could not evaluate it.
        """
        result = self.evaluate(self_value)
        if not isinstance(result, (bool, celtypes.BoolType)):
            raise CELEvaluationError(f"rule evaluated to {type(result).__name__}, not bool")
        return bool(result)


@functools.cache
def compile_expression(text: str) -> CompiledExpression:
    """Compile a rule or messageExpression once; later calls with the same text reuse it.

    Raises:
        UnsupportedCELError: the text does not parse or calls something not implemented here.
    """
    try:
        ast = _environment().compile(text)
    except Exception as err:  # celpy raises several parser error types
        raise UnsupportedCELError(f"cannot parse: {err}") from None
    uses_old_self = _check_supported(ast)
    collapsed = _collapse(ast)
    program = _environment().program(collapsed, functions=K8S_FUNCTIONS)
    return CompiledExpression(text, program, uses_old_self, _self_uses(collapsed))


def _self_uses(ast: lark.Tree) -> tuple[tuple[str, tuple[str | int, ...]], ...]:
    """The parts of ``self`` an expression reads (see :attr:`CompiledExpression.self_uses`).

    Each occurrence of ``self`` is followed up through ``.field`` and ``[integer literal]`` steps;
    the step chain then ends in ``has(...)`` (presence), ``.size()`` / ``size(...)`` (size), or
    anything else (the value). ``(s.size() > 0 ? s[0].matches.size() : 0) + ...`` thus reads the
    list's size and its items' ``matches`` sizes, not their contents. A result is a pure function
    of these parts (CEL has no side effects or clock), which is what lets a verdict be reused.
    """
    uses: set[tuple[str, tuple[str | int, ...]]] = set()

    def walk(node: Any, parents: tuple[lark.Tree, ...]) -> None:
        if not isinstance(node, lark.Tree):
            return
        if node.data == "ident" and node.children and getattr(node.children[0], "value", None) == "self":
            uses.add(_use_of_self(parents))
            return
        for child in node.children:
            walk(child, (*parents, node))

    walk(ast, ())
    return tuple(sorted(uses, key=repr))


def _int_literal(node: Any) -> int | None:
    while isinstance(node, lark.Tree) and node.data == "primary" and len(node.children) == 1:
        node = node.children[0]
    if isinstance(node, lark.Tree) and node.data == "literal" and node.children:
        token = node.children[0]
        if getattr(token, "type", "") == "INT_LIT":
            return int(token.value)
    return None


def _use_of_self(parents: tuple[lark.Tree, ...]) -> tuple[str, tuple[str | int, ...]]:
    chain = list(parents[::-1])  # nearest first
    path: list[str | int] = []
    current = chain.pop(0) if chain and chain[0].data == "primary" else None
    if current is None:
        return ("value", ())
    while chain:
        parent = chain[0]
        if parent.data == "member_dot" and parent.children[0] is current:
            path.append(parent.children[1].value)
        elif parent.data == "member_index" and parent.children[0] is current:
            index = _int_literal(parent.children[1])
            if index is None:
                return ("value", tuple(path))
            path.append(index)
        else:
            break
        current = chain.pop(0)
    if chain:
        parent = chain[0]
        if (parent.data == "member_dot_arg" and parent.children[0] is current
                and parent.children[1].value == "size" and (len(parent.children) < 3 or not parent.children[2])):
            return ("size", tuple(path))
        if (parent.data == "exprlist" and len(parent.children) == 1 and len(chain) > 1
                and chain[1].data == "ident_arg" and chain[1].children[0].value in {"has", "size"}):
            function = chain[1].children[0].value
            if function == "size" or (path and current.data == "member_dot"):
                return (function, tuple(path))
    return ("value", tuple(path))


# Grammar levels that celpy's interpreter passes straight through when they have one child.
_PASS_THROUGH = frozenset({"expr", "conditionalor", "conditionaland", "relation", "addition",
                           "multiplication", "unary", "member"})


def _collapse(node: Any) -> Any:
    """Drop single-child pass-through levels from the parse tree.

    A leaf such as ``self.port`` sits under eight such levels; skipping them roughly halves
    evaluation time without changing any result (celpy evaluates them as identity).
    """
    if not isinstance(node, lark.Tree):
        return node
    while (node.data in _PASS_THROUGH and len(node.children) == 1
           and isinstance(node.children[0], lark.Tree)):
        node = node.children[0]
    node.children = [_collapse(child) for child in node.children]
    return node


def _check_supported(ast: lark.Tree) -> bool:
    """Reject unknown functions and variables up front; returns whether ``oldSelf`` is used.

    celpy only notices an undefined function when a rule happens to reach it, so without this
    check a rule could pass on one object and blow up on the next.
    """
    bound = set(_VARIABLES)
    for node in ast.iter_subtrees():
        if node.data == "member_dot_arg" and node.children[1].value in _MACROS:
            args = node.children[2]
            if args is not None and args.children:
                bound.update(t.value for t in args.children[0].scan_values(
                    lambda v: isinstance(v, lark.Token) and v.type == "IDENT"))
    uses_old_self = False
    for node in ast.iter_subtrees():
        if node.data in {"dot_ident", "dot_ident_arg", "member_object"}:
            raise UnsupportedCELError(f"unsupported construct {node.data}")
        if node.data == "member_dot_arg":
            name = node.children[1].value
        elif node.data == "ident_arg":
            name = node.children[0].value
        elif node.data == "ident":
            variable = node.children[0].value
            if variable not in bound:
                raise UnsupportedCELError(f"undeclared reference to {variable!r}")
            uses_old_self = uses_old_self or variable == "oldSelf"
            continue
        else:
            continue
        if name not in _KNOWN_FUNCTIONS and name not in _MACROS:
            raise UnsupportedCELError(f"function {name!r} is not implemented")
    return uses_old_self


def _error_text(err: CELEvalError) -> str:
    """cel-go style text for a celpy error, digging out the innermost cause."""
    message = err.args[0] if err.args else str(err)
    for arg in err.args[1:]:
        nested = arg if isinstance(arg, tuple) else (arg,)
        for inner in nested:
            if isinstance(inner, CELEvalError):
                return _error_text(inner)
    key = re.fullmatch(r"no such member in mapping: '(.*)'", str(message))
    if key:
        return f"no such key: {key.group(1)}"
    if message in {"no such overload", "return error for overflow"} and len(err.args) > 2:
        detail = err.args[2]
        detail = detail[0] if isinstance(detail, tuple) and detail else detail
        return f"{message}: {detail}" if detail else str(message)
    return str(message)


# --- Objects to CEL values, as the API server builds them from the structural schema.

_CEL_RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while"})
_ESCAPABLE = re.compile(r"[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*")


@functools.cache
def escape_property_name(name: str) -> str | None:
    """The name a rule uses for property ``name`` (``namespace`` -> ``__namespace__``).

    Returns None for names no rule can address (they are left out of ``self``).
    """
    if name in _CEL_RESERVED:
        return f"__{name}__"
    if not _ESCAPABLE.fullmatch(name):
        return None
    return (name.replace("__", "__underscores__").replace(".", "__dot__")
            .replace("-", "__dash__").replace("/", "__slash__"))


def to_cel(value: Any, schema: Mapping[str, Any], memo: dict[int, Any] | None = None) -> Any:
    """Convert a JSON-like value into CEL values the way the API server does for ``self``.

    Object properties are escaped, map keys are not; ``format: duration``/``date-time``/
    ``date``/``byte`` strings become durations, timestamps and bytes; ``number`` is double.
    ``memo`` (keyed by ``id``) lets rules at nested nodes share one conversion.
    """
    if memo is not None and isinstance(value, (dict, list)) and id(value) in memo:
        return memo[id(value)]
    converted = _convert(value, schema, memo)
    if memo is not None and isinstance(value, (dict, list)):
        memo[id(value)] = converted
    return converted


def _convert(value: Any, schema: Mapping[str, Any], memo: dict[int, Any] | None) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        if schema.get("type") == "number":
            return celtypes.DoubleType(value)
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return _convert_string(value, schema.get("format"))
    if isinstance(value, list):
        items = schema.get("items") or {}
        return celtypes.ListType(to_cel(v, items, memo) for v in value)
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    converted = {}
    for key, item in value.items():
        if properties is not None and key in properties:
            name = escape_property_name(key)
            if name is not None:
                converted[celtypes.StringType(name)] = to_cel(item, properties[key], memo)
        elif isinstance(extra, Mapping):
            converted[celtypes.StringType(key)] = to_cel(item, extra, memo)
        elif properties is None or schema.get("x-kubernetes-preserve-unknown-fields"):
            converted[celtypes.StringType(key)] = to_cel(item, {}, memo)
    return celtypes.MapType(converted)


def _convert_string(value: str, fmt: str | None) -> Any:
    try:
        if fmt == "duration":
            return _cel_duration(parse_go_duration(value))
        if fmt in {"date-time", "datetime", "date"}:
            return celtypes.TimestampType(value if fmt != "date" else f"{value}T00:00:00Z")
        if fmt == "byte":
            return celtypes.BytesType(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as err:
        # The schema check reports the bad format; a rule touching the value sees an error.
        return _error(f"invalid {fmt} value {value!r}: {err}")
    return celtypes.StringType(value)
