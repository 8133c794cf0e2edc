"""Lay an imported intent out for people: defaults factored out, services sorted, each service
preceded by a comment naming its source objects, and the schema line ``meshgen init`` writes."""

from __future__ import annotations

import io
import json
import re
from functools import lru_cache
from typing import Any

from meshgen.importing.model import Imported
from meshgen.intent.model import API_VERSION, KIND
from meshgen.loader import reads_as_string

SCHEMA_LINE = "# yaml-language-server: $schema=schema/meshintent.schema.json"
#: Service settings a service inherits from ``spec.defaults`` (meshgen.intent.resolve).
FACTORED = ("timeout", "retries", "retryBudget", "circuitBreaker")
#: Small mappings written on one line, as the shipped examples write them.
FLOW = ("ports", "versions")
#: Mappings whose keys keep their order (header and query parameter names, as read).
UNSORTED = ("headers", "queryParams")


def factor_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    """Move a setting into ``defaults`` when every service has one and most share it.

    A service cannot opt out of a default (there is no "none" value), so a setting some service
    lacks stays per service. Returns a new spec; services keep only the values that differ.
    """
    services = spec.get("services") or []
    defaults = dict(spec.get("defaults") or {})
    out_services = [dict(s) for s in services]
    for key in FACTORED:
        values = [json.dumps(s.get(key), sort_keys=True) for s in services]
        if len(services) < 2 or "null" in values:
            continue
        common = max(sorted(set(values)), key=values.count)
        if values.count(common) < 2:
            continue
        defaults[key] = json.loads(common)
        for svc, value in zip(out_services, values):
            if value == common:
                del svc[key]
    return {**spec, "defaults": defaults, "services": out_services}


def draft(imported: Imported, platform: str) -> str:
    """The same intent without comments or layout, through libyaml, for validating and analyzing
    it (read back by meshgen's loader) before :func:`write` lays it out.

    libyaml's dumper quotes the strings a YAML 1.1 reader would not read as strings (``yes``,
    ``on``); :func:`_draft_dumper` also quotes those meshgen's YAML 1.2 loader would not
    (``1e5``, ``-.5``, ``08``: :func:`meshgen.loader.reads_as_string`), so every string is read
    back as itself.
    """
    import yaml

    return yaml.dump(draft_document(imported, platform), Dumper=_draft_dumper(), sort_keys=False)


def draft_document(imported: Imported, platform: str) -> dict[str, Any]:
    """What :func:`draft` writes, as data: the MeshIntent document (apiVersion, kind, metadata,
    spec) whose ``spec`` holds ``platform`` and the non-empty sections of the arranged intent.
    Shares its nested values with ``imported.spec``."""
    spec = _arranged(imported)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": imported.name}, "spec": {"platform": platform, **{k: spec[k] for k in SECTIONS if spec.get(k)}}}


class NotPlain(Exception):
    """Data :func:`plain_copy` does not copy: what the draft's dump and load might not give back
    as it is (see there)."""


#: Nesting below which :func:`plain_copy` copies (the intent model is about 10 levels deep; the
#: loader refuses documents past meshgen.loader.MAX_DEPTH, 64).
PLAIN_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


def plain_copy(value: Any) -> Any:
    """A deep copy of ``value`` equal to what meshgen's loader reads back from :func:`draft`'s
    YAML for it, without writing or parsing YAML.

    That holds for mappings, lists, str, int, float, bool and None (the draft quotes every string
    the loader would read as another type, and libyaml writes floats as their repr), so anything
    else raises :class:`NotPlain`: another type (a tuple, a date, a str or int subclass), a dict
    key other than str or int, a string libyaml cannot write (a lone surrogate), nesting deeper
    than :data:`PLAIN_DEPTH`, or mappings and lists held more than once (which the draft writes
    as YAML aliases) adding more entries than the loader's alias budget could allow
    (meshgen.loader.MAX_ALIAS_EXPANSION beyond one character of draft per entry written out).
    The caller then takes the draft's way. A shared mapping or list is copied once per holder.
    """
    from meshgen.loader import MAX_ALIAS_EXPANSION

    seen: set[int] = set()
    counts = [0, 0]  # entries as the loader's budget counts them (aliases expanded), and written out
    out = _plain(value, 0, seen, counts)
    if counts[0] > counts[1] + MAX_ALIAS_EXPANSION:
        raise NotPlain("aliases past the loader's budget")
    return out


def _plain(value: Any, depth: int, seen: set[int], counts: list[int]) -> Any:
    kind = type(value)
    if kind is str:
        if not value.isascii() and _SURROGATE.search(value):
            raise NotPlain("a lone surrogate")
        return value
    if kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is not dict and kind is not list:
        raise NotPlain(f"a {kind.__name__}")
    if depth >= PLAIN_DEPTH:
        raise NotPlain("deep nesting")
    counts[0] += len(value)
    if id(value) not in seen:
        seen.add(id(value))
        counts[1] += len(value)
    if kind is list:
        return [_plain(item, depth + 1, seen, counts) for item in value]
    out = {}
    for key, item in value.items():
        key_kind = type(key)
        if key_kind is not str and key_kind is not int:
            raise NotPlain(f"a {key_kind.__name__} key")
        out[_plain(key, depth + 1, seen, counts)] = _plain(item, depth + 1, seen, counts)
    return out


@lru_cache(maxsize=1)
def _draft_dumper() -> type:
    """libyaml's safe dumper with meshgen's loader's implicit resolvers added to its YAML 1.1
    ones: a string either set would read as something else is written quoted."""
    import yaml

    from meshgen.loader import _Yaml12Loader

    class _DraftDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        pass

    for first, entries in _Yaml12Loader.yaml_implicit_resolvers.items():
        for tag, regexp in entries:
            _DraftDumper.add_implicit_resolver(tag, regexp, [first])
    return _DraftDumper


def _arranged(imported: Imported) -> dict[str, Any]:
    spec = factor_defaults(imported.spec)
    spec["services"] = sorted(spec["services"], key=lambda s: (s.get("namespace", ""), s["name"]))
    return spec


SECTIONS = ("mesh", "telemetry", "defaults", "delivery", "services", "gateways", "egress", "suppress")


def write(imported: Imported, platform: str) -> str:
    """The intent YAML for ``imported`` (target ``platform``), deterministic for a given input.

    Laid out by :func:`_emit_doc`, a direct emitter for this plain data that
    writes exactly what ruamel.yaml's round-trip dumper wrote here before (tests/test_import_writer_emitter.py
    compares the two over every example's import and hypothesis-generated data); ruamel's emitter
    was 55% of an import's time. Documents that emitter does not lay out itself (a line that
    would reach ruamel's 4,096-column width, which ruamel folds; a key of 128 characters or more;
    a scalar type other than str/int/float/bool/None) go through ruamel.yaml as before, so the
    output is the same for every input.
    """
    spec = _arranged(imported)
    body: dict[str, Any] = {"platform": platform}
    for key in SECTIONS:
        if spec.get(key):
            body[key] = spec[key]
    doc = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": imported.name}, "spec": body}
    home = spec["defaults"].get("namespace", "default")
    comments = {}
    for index, svc in enumerate(spec["services"]):
        sources = imported.sources.get((svc.get("namespace", home), svc["name"]), [])
        if sources:
            comments[index] = "from " + "; ".join(sources)
    try:
        text = _emit_doc(doc, comments)
    except _Unsupported:
        text = _ruamel_dump(doc, comments)
    return f"{SCHEMA_LINE}\n# Imported by meshgen import from {platform} manifests; review the findings it printed.\n{text}"


def _ruamel_dump(doc: dict[str, Any], comments: dict[int, str]) -> str:
    """``doc`` through ruamel.yaml's round-trip emitter (the layout :func:`write` reproduces)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap()
    out["apiVersion"] = doc["apiVersion"]
    out["kind"] = doc["kind"]
    out["metadata"] = CommentedMap(name=_commented(doc["metadata"]["name"]))
    body = out["spec"] = CommentedMap()
    for key, value in doc["spec"].items():
        body[key] = value if key == "platform" else _commented(value, key)
    for index, text in comments.items():
        body["services"].yaml_set_comment_before_after_key(index, before=text, indent=4)
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    stream = io.StringIO()
    yaml.dump(out, stream)
    return stream.getvalue()


#: Key order of the intent model's classes (Service, Route, Peer, ...), so the output reads like
#: the shipped examples; keys not listed keep their order after these.
ORDER = (
    "name", "namespace", "host", "service", "gateway", "serviceAccount", "selector", "namespaceWide", "versions",
    "replicas", "listener", "hostnames", "className", "ports", "match", "version", "port", "weight", "labels",
    "protocol", "targetPort", "routes", "timeout", "retries", "retryBudget", "circuitBreaker", "fault", "mirror",
    "methods", "paths", "allowFrom", "denyFrom", "suppress",
)


def _commented(value: Any, key: str = "") -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        out = CommentedMap()
        rank = {k: i for i, k in enumerate(ORDER)}
        items = sorted(value.items(), key=lambda kv: rank.get(kv[0], len(ORDER))) if key not in UNSORTED else value.items()
        for k, v in items:
            out[_commented(k)] = _commented(v, k)
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_commented(v) for v in value)
        if value and all(not isinstance(v, (dict, list)) for v in value):
            seq.fa.set_flow_style()
        elif key in FLOW:
            for item in seq:
                if isinstance(item, CommentedMap) and all(not isinstance(v, (dict, list)) for v in item.values()):
                    item.fa.set_flow_style()
        return seq
    if type(value) is str and not reads_as_string(value):
        # quoted as ruamel quotes a string its own resolvers claim (:func:`_resolves_to_str`)
        from ruamel.yaml.scalarstring import SingleQuotedScalarString

        return SingleQuotedScalarString(value)
    return value


# --- The direct emitter -----------------------------------------------------------------------
#
# What ruamel.yaml 0.18/0.19's round-trip dumper writes for this data with indent(mapping=2,
# sequence=4, offset=2) and width 4096, reproduced without its event/state machine. Scalar styles
# follow ruamel.yaml's Emitter.analyze_scalar / choose_scalar_style and its YAML 1.2 implicit
# resolvers (ruamel/yaml/emitter.py, resolver.py): plain when a YAML 1.2 parser reads the plain
# text back as this string, else single-quoted, else double-quoted with ruamel's escapes. One
# deliberate difference: a string meshgen's loader would read as a number (``.5e5``, which
# ruamel's float pattern does not claim) is quoted too (:func:`_resolves_to_str`).
# (meshgen.render.yaml_scalar, the renderer's emitter, quotes differently: JSON-style double
# quotes, and 'yes' or 'a b' quoted; its output would not be byte-identical to today's.)


class _Unsupported(Exception):
    """Something the direct emitter does not lay out (ruamel.yaml lays it out instead)."""


#: ruamel.yaml's YAML 1.2 implicit resolvers (resolver.py), by first character: a plain scalar
#: matching one is read as that type, so a string like that cannot be written plain.
_R_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_R_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
    r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_R_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$")
_R_MERGE = re.compile(r"^(?:<<)$")
_R_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_R_TIMESTAMP = re.compile(
    r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
    r"(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"
)
_R_VALUE = re.compile(r"^(?:=)$")
_R_YAML = re.compile(r"^(?:!|&|\*)$")
_RESOLVERS: dict[str, list[re.Pattern]] = {}
for _regex, _firsts in (
    (_R_BOOL, "tTfF"), (_R_FLOAT, "-+0123456789."), (_R_INT, "-+0123456789"), (_R_MERGE, "<"),
    (_R_NULL, ["~", "n", "N", ""]), (_R_TIMESTAMP, "0123456789"), (_R_VALUE, "="), (_R_YAML, "!&*"),
):
    for _first in _firsts:
        _RESOLVERS.setdefault(_first, []).append(_regex)

_BREAKS = "\n\x85\u2028\u2029"
_SPACE_OR_BREAK = "\0 \t\r\n\x85\u2028\u2029"
_ESCAPES = {
    "\0": "0", "\x07": "a", "\x08": "b", "\x09": "t", "\x0a": "n", "\x0b": "v", "\x0c": "f", "\x0d": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}
#: Characters a string can hold and still be written plain or single-quoted (ruamel.yaml
#: allow_unicode=True): printable ASCII, newline, and printable non-ASCII except the BOM.
_PRINTABLE = re.compile("[\n\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*")
_PLAIN_SAFE = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")
#: ruamel.yaml's MAX_SIMPLE_KEY_LENGTH: longer keys are written as explicit "? key" entries.
_MAX_KEY = 128
#: Lines at least this long might have been folded by ruamel.yaml (width 4096).
_MAX_LINE = 4000


def _resolves_to_str(text: str) -> bool:
    """Whether ``text`` may be written plain: ruamel.yaml's resolvers read it as a string (so
    ruamel would write it plain) and so does meshgen's loader, whose YAML 1.2 float and int
    patterns differ from ruamel's (``.5e5`` is a string to ruamel, 50000.0 to the loader).
    A string either reads otherwise is quoted, as ruamel quotes one its own resolvers claim."""
    return not any(regex.match(text) for regex in _RESOLVERS.get(text[:1], ())) and reads_as_string(text)


@lru_cache(maxsize=1 << 16)
def _string(text: str, flow: bool, key: bool) -> str:
    """``text`` as ruamel.yaml writes a str: in block or flow context, as a value or simple key."""
    if _PLAIN_SAFE.fullmatch(text) and _resolves_to_str(text):
        return text  # the common case: names, namespaces, paths, durations
    if not text:
        return "''"
    block_ind = flow_ind = breaks = special = False
    leading_space = leading_break = trailing_space = trailing_break = break_space = space_break = False
    if text.startswith("---") or text.startswith("..."):
        block_ind = flow_ind = True
    preceded = True
    followed = len(text) == 1 or text[1] in _SPACE_OR_BREAK
    prev_space = prev_break = False
    last = len(text) - 1
    printable = _PRINTABLE.fullmatch(text) is not None
    for index, ch in enumerate(text):
        if index == 0:
            if ch in "#,[]{}&*!|>'\"%@`":
                flow_ind = block_ind = True
            if ch in "?:":
                if len(text) == 1:
                    flow_ind = True
                if followed:
                    block_ind = True
            if ch == "-" and followed:
                flow_ind = block_ind = True
        else:
            if ch in ",[]{}":
                flow_ind = True
            if ch == ":" and followed:
                flow_ind = block_ind = True
            if ch == "#" and preceded:
                flow_ind = block_ind = True
        if ch in _BREAKS:
            breaks = True
        if ch == " ":
            if index == 0:
                leading_space = True
            if index == last:
                trailing_space = True
            if prev_break:
                break_space = True
            prev_space, prev_break = True, False
        elif ch in _BREAKS:
            if index == 0:
                leading_break = True
            if index == last:
                trailing_break = True
            if prev_space:
                space_break = True
            prev_space, prev_break = False, True
        else:
            prev_space = prev_break = False
        preceded = ch in _SPACE_OR_BREAK
        followed = index + 2 >= len(text) or text[index + 2] in _SPACE_OR_BREAK
    special = not printable
    plain = not (leading_space or leading_break or trailing_space or trailing_break or break_space or special or space_break or breaks)
    plain = plain and not (flow_ind if flow else block_ind)
    single = not (break_space or special or space_break)
    if plain and _resolves_to_str(text):
        return text
    # ruamel's rule for a plain-styled str; a string the loader would not read back as itself is
    # single-quoted-styled (:func:`_commented`), which skips it
    if ("'" in text or "\n" in text) and reads_as_string(text):
        return _double(text)
    if single and not (key and breaks):
        if breaks:
            raise _Unsupported("a multi-line single-quoted scalar")
        return "'" + text.replace("'", "''") + "'"
    return _double(text)


def _double(text: str) -> str:
    out = []
    for ch in text:
        if ch not in '"\\\x85\u2028\u2029\ufeff' and (
            "\x20" <= ch <= "\x7e" or "\xa0" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000"
        ):
            out.append(ch)
        elif ch in _ESCAPES:
            out.append("\\" + _ESCAPES[ch])
        elif ch <= "\xff":
            out.append(f"\\x{ord(ch):02X}")
        elif ch <= "\uffff":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(f"\\U{ord(ch):08X}")
    return '"' + "".join(out) + '"'


def _scalar(value: Any, flow: bool = False, key: bool = False) -> str:
    kind = type(value)
    if kind is str:
        text = _string(value, flow, key)
        if key and (len(value) >= _MAX_KEY or "\n" in value or "\x85" in value or "\u2028" in value or "\u2029" in value):
            raise _Unsupported("an explicit key")
        return text
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        text = str(value)
        if key and len(text) >= _MAX_KEY:
            raise _Unsupported("an explicit key")
        return text
    if value is None and not key:
        return "null" if flow else ""
    if kind is float:
        text = repr(value).lower()
        if value != value or value in (float("inf"), float("-inf")) or not _R_FLOAT.match(text):
            raise _Unsupported("a float ruamel.yaml writes another way")
        return text
    raise _Unsupported(f"a {kind.__name__} scalar")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _emit_doc(doc: dict, comments: dict[int, str]) -> str:
    """The document's YAML (ruamel.yaml's layout), ending in a newline.

    Raises:
        _Unsupported: something ruamel.yaml would lay out in a way this emitter does not copy.
    """
    lines: list[str] = []
    _entry("apiVersion", doc["apiVersion"], 0, lines, "")
    _entry("kind", doc["kind"], 0, lines, "")
    lines.append("metadata:")
    _mapping(doc["metadata"], 2, lines, sort=False)
    lines.append("spec:")
    for key, value in doc["spec"].items():
        if key == "services" and comments:
            if not isinstance(value, list) or not value or all(_is_scalar(v) for v in value):
                raise _Unsupported("comments on a flow sequence")
            lines.append("  services:")
            _sequence(value, 4, lines, key, comments)
        else:
            _entry(key, value, 2, lines, key)
    for line in lines:
        # comments are written as they are; any other line this long might have been folded
        if len(line) >= _MAX_LINE and not line.lstrip(" ").startswith("#"):
            raise _Unsupported("a line ruamel.yaml might fold")
    return "\n".join(lines) + "\n"


def _entry(key: Any, value: Any, indent: int, lines: list[str], context: str) -> None:
    pad = " " * indent
    written = _scalar(key, key=True)
    if _is_scalar(value):
        text = _scalar(value)
        lines.append(f"{pad}{written}: {text}" if text else f"{pad}{written}:")
    elif not value:
        lines.append(f"{pad}{written}: {'{}' if isinstance(value, dict) else '[]'}")
    elif isinstance(value, list):
        if all(_is_scalar(v) for v in value):
            lines.append(f"{pad}{written}: [{', '.join(_scalar(v, flow=True) for v in value)}]")
        else:
            lines.append(f"{pad}{written}:")
            _sequence(value, indent + 2, lines, key if type(key) is str else "", {})
    else:
        lines.append(f"{pad}{written}:")
        _mapping(value, indent + 2, lines, sort=context not in UNSORTED)


_RANK = {k: i for i, k in enumerate(ORDER)}


def _mapping(value: dict, indent: int, lines: list[str], sort: bool = True) -> None:
    items = sorted(value.items(), key=lambda kv: _RANK.get(kv[0], len(ORDER))) if sort else value.items()
    for key, item in items:
        _entry(key, item, indent, lines, key if type(key) is str else "")


def _sequence(value: list, dash: int, lines: list[str], context: str, comments: dict[int, str]) -> None:
    """A block sequence whose dashes are at column ``dash`` (items' content at ``dash + 2``)."""
    pad = " " * dash
    flow_maps = context in FLOW
    for index, item in enumerate(value):
        comment = comments.get(index)
        if comment is not None:
            if len(comment) > 1 and comment.endswith("\n"):
                comment = comment[:-1]  # ruamel.yaml's yaml_set_comment_before_after_key drops one
            lines.extend(("    # " + part) if part else "" for part in comment.split("\n"))
        if _is_scalar(item):
            lines.append(f"{pad}- {_scalar(item)}")
        elif not item:
            lines.append(f"{pad}- {'{}' if isinstance(item, dict) else '[]'}")
        elif isinstance(item, list) and all(_is_scalar(v) for v in item):
            lines.append(f"{pad}- [{', '.join(_scalar(v, flow=True) for v in item)}]")
        elif isinstance(item, dict) and flow_maps and all(_is_scalar(v) for v in item.values()):
            pairs = sorted(item.items(), key=lambda kv: _RANK.get(kv[0], len(ORDER)))
            lines.append(f"{pad}- {{{', '.join(f'{_scalar(k, flow=True, key=True)}: {_scalar(v, flow=True)}' for k, v in pairs)}}}")
        else:
            sub: list[str] = []
            if isinstance(item, dict):
                _mapping(item, dash + 2, sub)
                sub[0] = f"{pad}- {sub[0][dash + 2:]}"
            else:
                _sequence(item, dash + 4, sub, "", {})
                sub[0] = f"{pad}- {sub[0][dash + 2:]}"
            lines.extend(sub)
