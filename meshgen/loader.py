"""Read intent files into a validated :class:`~meshgen.intent.model.MeshIntent`.

Two speeds, one meaning. Valid intents take the fast path: libyaml (PyYAML's C parser) with a
YAML 1.2 core-schema resolver, so ``on``/``yes``/``0755``/``1:30`` mean exactly what they mean to
ruamel.yaml. Only when something is wrong is the file read again with ruamel.yaml's round-trip
loader, whose nodes remember their positions, so every problem, from a syntax error to a
cross-field rule, is reported as ``file:line:col: field.path: message``, all at once.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from meshgen.errors import IntentError, Problem, SourceLocation
from meshgen.intent.model import MeshIntent
from meshgen.intent.rules import Violation, check_intent, format_path, lint_intent

__all__ = ["load_intent", "parse_intent", "lint"]

_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Yaml12Loader(_FastLoader):  # type: ignore[misc, valid-type]
    """libyaml with the YAML 1.2 core schema and duplicate keys refused."""

    yaml_implicit_resolvers: dict = {}


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"),
)
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


class _DuplicateKey(Exception):
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise _DuplicateKey(key)
        keys.add(key)
    return loader.construct_mapping(node, deep=deep)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text, 10)


_Yaml12Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_intent(path: Path) -> MeshIntent:
    """Read and validate one intent file.

    Args:
        path: a YAML file holding one ``MeshIntent`` document.

    Returns:
        The validated intent, with defaults inherited by every service.

    Raises:
        IntentError: with every problem found (unreadable file, YAML syntax, duplicate keys,
            types, unknown keys, cross-field rules), each with ``file:line:col`` where known.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IntentError([Problem("", f"cannot read intent: {exc}", SourceLocation(Path(path), 1, 1))]) from None
    return parse_intent(text, Path(path))


def parse_intent(text: str, path: Path) -> MeshIntent:
    """Validate intent ``text`` read from ``path`` (used in messages only). See :func:`load_intent`."""
    try:
        data = yaml.load(text, Loader=_Yaml12Loader)
    except (yaml.YAMLError, _DuplicateKey):
        data = None
        raise IntentError(_syntax_problems(text, path)) from None
    if not isinstance(data, dict):
        raise IntentError([Problem("", "expected a MeshIntent mapping (apiVersion, kind, metadata, spec)", SourceLocation(path, 1, 1))])
    try:
        intent = MeshIntent.model_validate(data)
    except ValidationError as exc:
        raise IntentError(_locate_all(text, path, _pydantic_violations(exc, data))) from None
    violations = check_intent(intent)
    if violations:
        raise IntentError(_locate_all(text, path, violations))
    return intent


def lint(intent: MeshIntent, text: str, path: Path) -> list[Problem]:
    """Warnings for a valid intent (see :func:`meshgen.intent.rules.lint_intent`), with positions."""
    violations = lint_intent(intent)
    return _locate_all(text, path, violations) if violations else []


# --- the slow, precise path -----------------------------------------------------------------


def _round_trip(text: str):
    rt = YAML(typ="rt")
    rt.allow_duplicate_keys = False
    return rt.load(text)


def _syntax_problems(text: str, path: Path) -> list[Problem]:
    try:
        _round_trip(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = SourceLocation(path, mark.line + 1, mark.column + 1) if mark else SourceLocation(path, 1, 1)
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        if "duplicate key" in message:
            key = re.search(r'duplicate key "?([^"\s]+)', message)
            message = f"duplicate key {key.group(1)!r}" if key else "duplicate key"
        return [Problem("", f"invalid YAML: {message}", where)]
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported, never swallowed
        return [Problem("", f"invalid YAML: {exc}", SourceLocation(path, 1, 1))]
    # libyaml refused what ruamel accepts (YAML 1.1 vs 1.2 edge): report without a position.
    return [Problem("", "invalid YAML", SourceLocation(path, 1, 1))]


def _locate_all(text: str, path: Path, violations: list[Violation]) -> list[Problem]:
    doc = _round_trip(text)
    return [Problem(format_path(v.path), v.message, locate(doc, v.path, path, at_key=v.at_key)) for v in violations]


def locate(doc: Any, parts: tuple, file: Path, *, at_key: bool = False) -> SourceLocation:
    """Follow ``parts`` through a round-trip document to the deepest node that has a position.

    The position is the value's for a scalar at the end of the path (what is wrong is the value),
    otherwise (or with ``at_key``) the key's.
    """
    node, (line, col) = doc, (getattr(getattr(doc, "lc", None), "line", 0) or 0, 0)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, CommentedMap) and part in node:
            value = node[part]
            scalar = not isinstance(value, (CommentedMap, CommentedSeq))
            line, col = node.lc.value(part) if (last and scalar and not at_key) else node.lc.key(part)
            node = value
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, col = node.lc.item(part)
            node = node[part]
        else:
            break
    return SourceLocation(file, line + 1, col + 1)


def _pydantic_violations(exc: ValidationError, data: Any) -> list[Violation]:
    merged: dict[tuple, list[str]] = {}
    unknown: set[tuple] = set()
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"], data, err["type"])
        merged.setdefault(loc, [])
        if err["type"] == "extra_forbidden":
            unknown.add(loc)
        message = _message(err, loc)
        if message not in merged[loc]:
            merged[loc].append(message)
    return [Violation(loc, " or ".join(msgs), at_key=loc in unknown) for loc, msgs in merged.items()]


def _clean_loc(loc: tuple, data: Any, kind: str) -> tuple:
    """Drop pydantic's union-member tags so the path only holds the intent's own keys."""
    out: list = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif last and kind in ("missing", "extra_forbidden"):
            out.append(part)
        elif isinstance(part, str) and ("[" in part or part in ("int", "str", "float", "function-after", "function-plain")):
            continue  # a union member's tag, not a key
        else:
            out.append(part)
            node = None
    return tuple(out)


def _message(err: dict, loc: tuple) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc[-1]!r}{hint}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[0].lower() + msg[1:] if msg else msg


def _allowed_keys(parent: tuple) -> list[str]:
    """The keys the model accepts at ``parent`` (a cleaned path), for 'unknown key' hints."""
    model: Any = MeshIntent
    for part in parent:
        model = _unwrap(model)
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next((f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return []
        model = field.annotation
    model = _unwrap(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(f.alias or n for n, f in model.model_fields.items())
    return []


def _unwrap(annotation: Any) -> Any:
    """``list[X] | None`` -> ``X``: the model class inside containers and optionals."""
    for _ in range(4):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        origin = typing.get_origin(annotation)
        if origin in (list, tuple, set) and args:
            annotation = args[0]
        elif origin is dict and len(args) == 2:
            annotation = args[1]
        elif args and origin is not typing.Literal and len(args) == 1:
            annotation = args[0]
        elif args and origin is not typing.Literal:
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else annotation
            break
        else:
            break
    return annotation
