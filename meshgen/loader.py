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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import BaseModel, ValidationError
from meshgen.errors import IntentError, IntentNotFoundError, Problem, SourceLocation, did_you_mean
from meshgen.intent.model import MeshIntent
from meshgen.intent.resolve import resolve
from meshgen.intent.rules import Violation, check_intent, format_path

__all__ = [
    "LoadedIntent",
    "Sources",
    "load",
    "load_intent",
    "load_intents",
    "merge",
    "parse_intent",
    "read_sources",
    "reads_as_string",
    "validate",
    "validates",
]

_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _Yaml12Loader(_FastLoader):  # type: ignore[misc, valid-type]
    """libyaml with the YAML 1.2 core schema and duplicate keys refused."""

    yaml_implicit_resolvers: dict = {}

    def resolve(self, kind: type, value: Any, implicit: tuple) -> str:
        """PyYAML's ``BaseResolver.resolve`` for this class, which has no path resolvers: the
        implicit resolvers of the scalar's first character and the wildcard ones, else the default
        tag of the node's kind. libyaml's composer calls it for every node (about 48,000 at 1,000
        services), so it is written out here without the path-resolver branches (about 9 of 80 ms).
        """
        if kind is yaml.ScalarNode:
            if implicit[0]:
                resolvers = self.yaml_implicit_resolvers
                for tag, regexp in resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
                for tag, regexp in resolvers.get(None, ()):
                    if regexp.match(value):
                        return tag
            return _STR_TAG
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG


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


def reads_as_string(text: str) -> bool:
    """Whether this loader reads ``text``, written as a plain (unquoted) scalar, as that string.

    False when one of the loader's YAML 1.2 core-schema resolvers above claims the text (``1e5``,
    ``-.5``, ``0o7``, ``08``, ``true``, ``null``, ``~``, the empty string): a writer must quote
    such a string. ``yes``/``on``/``y`` are strings here (YAML 1.1 booleans only). Looked up
    the way PyYAML's ``BaseResolver.resolve`` does: by first character, then the wildcards.
    """
    resolvers = _Yaml12Loader.yaml_implicit_resolvers
    return all(
        tag == "tag:yaml.org,2002:str" or not regexp.match(text)
        for tag, regexp in resolvers.get(text[:1], []) + resolvers.get(None, [])
    )


class _DuplicateKey(Exception):
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool, type(None))):
            # A mapping or list as a key (``? [a]``): no intent key is one, and sets cannot hold it.
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a scalar (a name), not a mapping or list", key_node.start_mark
            )
        if key in keys:
            raise _DuplicateKey(key)
        keys.add(key)
    return loader.construct_mapping(node, deep=deep)


def _refuse_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    # Explicit tags beyond the JSON-like core (sets, binary, timestamps, ordered maps) mean nothing
    # in an intent, and a set's order would depend on PYTHONHASHSEED.
    raise yaml.constructor.ConstructorError(
        None, None, f"the tag {node.tag} is not allowed in an intent (strings, numbers, booleans, null, "
        "mappings and lists only)", node.start_mark
    )


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text, 10)


_Yaml12Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
for _tag in ("binary", "set", "timestamp", "omap", "pairs"):
    _Yaml12Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)

#: The constructors of the scalar tags the resolvers above give (a str is its text).
_SCALAR_CONSTRUCTORS = {
    tag: _Yaml12Loader.yaml_constructors[tag]
    for tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null")
}


class _Unusual(Exception):
    """The node tree has something :func:`_construct_plain` leaves to PyYAML's constructor."""


def _construct_plain(loader: yaml.SafeLoader, node: Any, depth: int = 1) -> Any:
    """The data of a node tree without aliases, as PyYAML's constructor with this module's
    constructors would build it, in one recursive pass (about 13 ms at 1,000 services, against
    90 ms for PyYAML's, which keeps per-node state for aliases and constructs every key twice here).

    Handles only what a valid intent is made of: mappings with scalar keys and no duplicate
    (equal keys as a Python set sees them, ``1`` and ``true`` alike), lists, and str, int, float,
    bool and null scalars (built by the same constructors PyYAML calls), at most
    :data:`MAX_DEPTH` levels deep. Anything else (another tag, a merge key, a duplicate key, a
    mapping or list as a key, deeper nesting) raises :class:`_Unusual`, and so does any error of
    a scalar constructor: the caller then constructs with PyYAML, which returns or raises what it
    always did.
    """
    kind = type(node)
    if kind is yaml.ScalarNode:
        tag = node.tag
        return node.value if tag == _STR_TAG else _SCALAR_CONSTRUCTORS[tag](loader, node)
    if depth > MAX_DEPTH:
        raise _Unusual
    depth += 1
    if kind is yaml.MappingNode and node.tag == _MAP_TAG:
        out: dict = {}
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode:
                raise _Unusual
            tag = key_node.tag
            key = key_node.value if tag == _STR_TAG else _SCALAR_CONSTRUCTORS[tag](loader, key_node)
            if key in out:
                raise _Unusual
            out[key] = _construct_plain(loader, value_node, depth)
        return out
    if kind is yaml.SequenceNode and node.tag == _SEQ_TAG:
        return [_construct_plain(loader, item, depth) for item in node.value]
    raise _Unusual


# --- limits on what one intent file may expand to ----------------------------------------

#: Deepest nesting of mappings and lists an intent may have. The deepest field of the model is
#: about 10 levels down (spec.services[].routes[].match.headers.<name>.exact); parsers and the
#: validator recurse once per level, so an unbounded depth ends in a RecursionError.
MAX_DEPTH = 64
#: How many nodes YAML aliases may add to a file. A node is an entry of a mapping or a list; an alias
#: makes its anchored node appear again wherever it is referenced, and nested aliases multiply, so a
#: few kilobytes can stand for billions of nodes ("billion laughs"). Written out, every node takes
#: at least one character, so a document may expand to at most as many nodes as its file has
#: characters plus this many: anchors for shared settings stay far below it.
MAX_ALIAS_EXPANSION = 100_000


def _shape_problems(data: Any, text: str, path: Path) -> list[Problem]:
    """Problems of a parsed document's shape: nesting past :data:`MAX_DEPTH`, or more nodes than
    ``len(text) + MAX_ALIAS_EXPANSION`` once aliases are expanded (see :data:`MAX_ALIAS_EXPANSION`).

    One breadth-first pass over the document as the validator will see it (an alias's node once per
    reference), stopped as soon as a limit is passed, so a recursive or exploding alias costs
    at most the limit. About 6 ms for a 1,000-service intent.
    """
    budget = len(text) + MAX_ALIAS_EXPANSION
    level, depth, count = [data], 0, 0
    while level:
        depth += 1
        below = []
        for node in level:
            kind = type(node)
            if kind is not dict and kind is not list:
                continue
            children = node.values() if kind is dict else node
            count += len(children)
            below.extend(children)
        if count > budget:
            message = (
                f"YAML aliases expand the document past {budget:,} nodes (the file's {len(text):,} characters "
                f"plus {MAX_ALIAS_EXPANSION:,}); write the repeated parts out, or repeat them less"
            )
            return [Problem("", message, SourceLocation(path, 1, 1))]
        if depth >= MAX_DEPTH and any(type(n) is dict or type(n) is list for n in below):
            message = (
                f"the document is nested deeper than {MAX_DEPTH} levels (or a YAML alias refers to a node "
                "that contains it)"
            )
            return [Problem("", message, SourceLocation(path, 1, 1))]
        level = below
    return []


# --- reading: one or many files -------------------------------------------------------------

#: Where meshgen looks for intent files inside a directory.
INTENT_SUFFIXES = (".yaml", ".yml")
#: Lists of the intent that several files extend; every other setting may be set in one file only.
CONCATENATED = ("services", "gateways", "egress")


@dataclass
class SourceFile:
    """One intent file: its path (as given), its text, and its data parsed on the fast path.

    ``node`` is libyaml's node tree that ``data`` was constructed from (every node with its
    position), kept only when :func:`load` is asked to (``keep_nodes``) and dropped once
    :meth:`Sources.locate_many` has read positions from it; None otherwise.
    """

    path: Path
    text: str
    data: Any = None
    node: Any = None


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Intent files named by ``paths``: files as given, directories as their YAML files.

    A directory contributes every ``*.yaml`` / ``*.yml`` file below it, sorted by relative path,
    skipping hidden files and folders (``.pre-commit-config.yaml``, ``.github/``). A file named
    twice is read once.

    Raises:
        IntentNotFoundError: a path does not exist (exit 2, a usage error).
        IntentError: a directory holds no intent file.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    problems: list[Problem] = []
    missing: list[Problem] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                (
                    p
                    for p in path.rglob("*")
                    if p.suffix in INTENT_SUFFIXES
                    and p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                ),
                key=lambda p: p.relative_to(path).as_posix(),
            )
            if not found:
                message = f"no intent files (*.yaml, *.yml) in directory {path}"
                problems.append(Problem("", message, SourceLocation(path, 1, 1)))
        elif path.exists():
            found = [path]
        else:
            missing.append(Problem("", f"{path}: no such file or directory"))
            problems.append(missing[-1])
            found = []
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                out.append(file)
    if missing:  # a mistyped argument, not a broken intent: usage error, no invented position
        raise IntentNotFoundError(problems)
    if problems:
        raise IntentError(problems)
    if not out:
        raise IntentError([Problem("", "no intent file given")])
    return out


def read_sources(paths: Sequence[Path], keep_nodes: bool = False) -> list[SourceFile]:
    """Read and parse (fast path) every intent file named by ``paths`` (see :func:`expand_paths`).

    ``keep_nodes``: keep each file's libyaml node tree (:attr:`SourceFile.node`) for positions.

    Raises:
        IntentError: every unreadable file and every YAML syntax error, each with its position.
    """
    sources: list[SourceFile] = []
    problems: list[Problem] = []
    for path in expand_paths(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem("", f"cannot read intent: {exc}", SourceLocation(path, 1, 1)))
            continue
        try:
            data, node = _fast_compose(text)
        except (yaml.YAMLError, _DuplicateKey, RecursionError) as exc:
            problems.extend(_syntax_problems(text, path, exc))
            continue
        shape = _shape_problems(data, text, path)
        if shape:
            problems.extend(shape)
        else:
            sources.append(SourceFile(path, text, data, node if keep_nodes else None))
    if problems:
        raise IntentError(problems)
    return sources


def _fast_load(text: str) -> Any:
    """What ``yaml.load(text, Loader=_Yaml12Loader)`` returns or raises (see :func:`_fast_compose`)."""
    return _fast_compose(text)[0]


def _fast_compose(text: str) -> tuple[Any, Any]:
    """``(data, node tree)``: what ``yaml.load(text, Loader=_Yaml12Loader)`` returns, and the node
    tree it was built from.

    The steps of ``yaml.load`` (``get_single_data``) with the composed tree kept: it holds every
    node's position, which :func:`node_positions` reads without parsing the text again. A text
    without anchors (no ``&``, so every node appears once) is constructed by
    :func:`_construct_plain`; one with anchors, or with anything that function leaves alone, by
    PyYAML's constructor, so the data, and every error, are PyYAML's.

    Raises:
        yaml.YAMLError, _DuplicateKey, RecursionError: as ``yaml.load`` does.
    """
    loader = _Yaml12Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        if "&" not in text:
            try:
                return _construct_plain(loader, node), node
            except Exception:  # noqa: BLE001 - PyYAML's constructor below returns or raises as always
                pass
        return loader.construct_document(node), node
    finally:
        loader.dispose()


class Sources:
    """The files an intent was merged from, and where each part of the merged intent came from.

    Services, gateways and egress hosts of all files are concatenated in file order; every other
    setting (``metadata``, ``spec.mesh``, ``spec.defaults``, ...) is merged key by key and may be
    set in several files only with the same value. :meth:`locate` maps a path of the merged
    intent back to ``file:line:col`` in the file that wrote it; positions cost a ruamel.yaml
    round-trip parse, done only for files that have something wrong.
    """

    def __init__(self, files: Sequence[SourceFile]) -> None:
        self.files = tuple(files)
        # section -> merged index -> (file index, index in that file)
        self.segments: dict[str, list[tuple[int, int]]] = {}
        self._docs: dict[int, Any] = {}
        #: file index -> why positions could not be read (ruamel.yaml failed on what libyaml read)
        self.unpositioned: dict[int, str] = {}

    def origin(self, parts: tuple) -> tuple[int, tuple]:
        """``(file index, path in that file)`` of a path of the merged intent."""
        if len(self.files) == 1:
            return 0, parts
        if len(parts) >= 3 and parts[0] == "spec" and parts[1] in self.segments and isinstance(parts[2], int):
            table = self.segments[parts[1]]
            if parts[2] < len(table):
                index, local = table[parts[2]]
                return index, ("spec", parts[1], local, *parts[3:])
        best, depth = 0, -1
        for index, source in enumerate(self.files):
            found = _depth(source.data, parts)
            if found > depth:
                best, depth = index, found
        return best, parts

    def locate(self, parts: tuple) -> SourceLocation:
        """Position of a merged-intent path: the deepest node of it that exists in its file."""
        return self.position(*self.origin(parts))

    def position(self, index: int, local: tuple, *, at_key: bool = False) -> SourceLocation:
        """Position of path ``local`` in file number ``index`` (parsed once, with positions)."""
        source = self.files[index]
        if index not in self._docs:
            try:
                self._docs[index] = _round_trip(source.text)
            except RecursionError:
                self._docs[index] = None
                self.unpositioned[index] = "it is nested too deeply"
            except Exception as exc:  # noqa: BLE001 - positions are a courtesy: never fail on them
                self._docs[index] = None
                self.unpositioned[index] = _one_line(exc)
        if self._docs[index] is None:
            return SourceLocation(source.path, 0, 0)
        return locate(self._docs[index], local, source.path, at_key=at_key)

    def locate_many(self, paths: Sequence[tuple]) -> list[tuple[str, SourceLocation]]:
        """``(field path in its file, position)`` of each merged-intent path, as :meth:`locate` would give.

        For many paths at once (analyzer findings): each file that holds one is read once with
        libyaml's event parser (:func:`positions`), about ten times faster than the round-trip parse.
        """
        origins = [self.origin(p) for p in paths]
        wanted: dict[int, set[tuple]] = {}
        for index, local in origins:
            wanted.setdefault(index, set()).add(local)
        found = {index: self._positions(index, locals_) for index, locals_ in wanted.items()}
        self.forget_nodes()
        return [
            (format_path(local), _event_locate(found[index], local, self.files[index].path)) for index, local in origins
        ]

    def forget_nodes(self) -> None:
        """Drop the kept node trees (read once: a tree is several times the size of the data)."""
        for source in self.files:
            source.node = None

    def _positions(self, index: int, wanted: set[tuple]) -> dict[tuple, tuple]:
        """:func:`positions` of file ``index``: from its kept node tree when it has one and no anchors
        (an alias node in the tree carries its anchor's position, the event parse the alias's own),
        else by parsing its text again."""
        source = self.files[index]
        if source.node is not None and "&" not in source.text:
            return node_positions(source.node, wanted)
        return positions(source.text, wanted)

    def problems(self, violations: Sequence[Violation]) -> list[Problem]:
        """Violations of the merged intent as positioned problems (``related`` places named too).

        Field paths are given as in the file that holds them (``spec.services[1]`` of that file).
        """
        out = []
        for v in violations:
            message = v.message
            if v.related is not None:
                message += f" (also at {self.locate(v.related)})"
            index, local = self.origin(v.path)
            out.append(Problem(format_path(local), message, self.position(index, local, at_key=v.at_key)))
        for index, why in sorted(self.unpositioned.items()):
            note = f"line numbers unavailable: ruamel.yaml cannot re-read this file ({why})"
            out.append(Problem("", note, SourceLocation(self.files[index].path, 0, 0)))
        return out


def merge(files: Sequence[SourceFile]) -> tuple[dict, Sources]:
    """One intent document from the parsed ``files`` (see :class:`Sources` for the rules).

    Returns:
        The merged data (not yet validated) and the :class:`Sources` that locate its parts.

    Raises:
        IntentError: a file is not a mapping, or two files set one setting to different values
            (both positions given).
    """
    sources = Sources(files)
    problems: list[Problem] = []
    for source in files:
        if not isinstance(source.data, dict):
            message = "expected a MeshIntent mapping (apiVersion, kind, metadata, spec)"
            problems.append(Problem("", message, SourceLocation(source.path, 1, 1)))
    if problems:
        raise IntentError(problems)
    if len(files) == 1:
        return files[0].data, sources
    merged: dict = {}
    owner: dict[tuple, int] = {}  # leaf path -> file index that set it
    conflicts: list[tuple[tuple, int, int]] = []
    for index, source in enumerate(files):
        for key, value in source.data.items():
            if key == "spec" and isinstance(value, dict) and isinstance(merged.get("spec", {}), dict):
                spec = merged.setdefault("spec", {})
                for section, body in value.items():
                    if section in CONCATENATED and isinstance(body, list) and isinstance(spec.get(section, []), list):
                        table = sources.segments.setdefault(section, [])
                        table.extend((index, local) for local in range(len(body)))
                        spec.setdefault(section, []).extend(body)
                    else:
                        _merge_into(spec, section, body, ("spec", section), index, owner, conflicts)
            else:
                _merge_into(merged, key, value, (key,), index, owner, conflicts)
    if conflicts:
        for path, first, second in conflicts:
            problems.append(
                Problem(
                    format_path(path),
                    f"set differently in two intent files (also at {sources.position(first, path)}); "
                    "set it in one file only",
                    sources.position(second, path),
                )
            )
        raise IntentError(problems)
    return merged, sources


def _merge_into(target: dict, key: Any, value: Any, path: tuple, index: int, owner: dict, conflicts: list) -> None:
    """Merge ``value`` into ``target[key]``: mappings key by key, anything else must be equal."""
    if key not in target:
        target[key] = _copy_mapping(value)
        _own(value, path, index, owner)
        return
    current = target[key]
    if isinstance(current, dict) and isinstance(value, dict):
        for sub, item in value.items():
            _merge_into(current, sub, item, (*path, sub), index, owner, conflicts)
    elif current != value:
        conflicts.append((path, _owner_of(path, owner), index))


def _copy_mapping(value: Any) -> Any:
    # Mappings are merged into later, so the first file's own dicts must not be the merged ones.
    return {k: _copy_mapping(v) for k, v in value.items()} if isinstance(value, dict) else value


def _own(value: Any, path: tuple, index: int, owner: dict) -> None:
    owner[path] = index
    if isinstance(value, dict):
        for key, item in value.items():
            _own(item, (*path, key), index, owner)


def _owner_of(path: tuple, owner: dict) -> int:
    for cut in range(len(path), 0, -1):
        if path[:cut] in owner:
            return owner[path[:cut]]
    return 0


def _depth(data: Any, parts: tuple) -> int:
    """How many leading ``parts`` exist in ``data``."""
    node, depth = data, 0
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            break
        depth += 1
    return depth


def validate(data: dict, sources: Sources) -> MeshIntent:
    """Validate merged intent ``data``: types and keys (pydantic), then cross-field rules.

    Raises:
        IntentError: every problem, positioned in the file that holds it.
    """
    try:
        intent = resolve(MeshIntent.model_validate(data))
    except ValidationError as exc:
        raise IntentError(sources.problems(_pydantic_violations(exc, data))) from None
    violations = check_intent(intent)
    if violations:
        raise IntentError(sources.problems(violations))
    return intent


def validates(data: dict) -> MeshIntent | None:
    """What :func:`validate` returns for one file's ``data``, or None where it would raise (the
    problems unpositioned: a caller that needs them validates the text with :func:`parse_intent`).
    ``data`` is what the fast path reads from a file; it is not changed."""
    if type(data) is not dict:
        return None
    try:
        intent = resolve(MeshIntent.model_validate(data))
    except ValidationError:
        return None
    return None if check_intent(intent) else intent


@dataclass(frozen=True)
class LoadedIntent:
    """A validated intent and the files it came from (for analyzer positions and headers)."""

    intent: MeshIntent
    sources: Sources


def load(paths: Sequence[Path], *, keep_nodes: bool = False) -> LoadedIntent:
    """Read, merge and validate the intent in ``paths`` (files and/or directories).

    ``keep_nodes``: keep libyaml's node trees until the first :meth:`Sources.locate_many` (what
    :func:`meshgen.analyze.analyze` positions findings with), which then reads positions from
    them instead of parsing every file a second time (issue 17: about 0.05 s of CPU at 1,000
    services). Off by default: a tree takes several times the memory of the data.

    Raises:
        IntentError: with every problem found, each with ``file:line:col`` where known.
    """
    files = read_sources(paths, keep_nodes)
    data, sources = merge(files)
    return LoadedIntent(validate(data, sources), sources)


def load_intents(paths: Sequence[Path]) -> MeshIntent:
    """Read one intent split over several files (or directories of files) as one intent.

    Services, gateways and egress hosts of all files are concatenated (files in the order given,
    a directory's files sorted by path), so an ``allowFrom`` may name a service of another file.
    Any other setting may appear in several files only with the same value. A service defined in
    two files is an error naming both ``file:line:col`` positions.

    Raises:
        IntentError: every problem of every file, each positioned in its own file.
    """
    return load(paths).intent


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
    return load([Path(path)]).intent


def parse_intent(text: str, path: Path) -> MeshIntent:
    """Validate intent ``text`` read from ``path`` (used in messages only). See :func:`load_intent`."""
    try:
        data = _fast_load(text)
    except (yaml.YAMLError, _DuplicateKey, RecursionError) as exc:
        raise IntentError(_syntax_problems(text, path, exc)) from None
    shape = _shape_problems(data, text, Path(path))
    if shape:
        raise IntentError(shape)
    source = SourceFile(Path(path), text, data)
    merged, sources = merge([source])
    return validate(merged, sources)


# --- the slow, precise path -----------------------------------------------------------------


def _round_trip(text: str):
    # ruamel.yaml only on this slow path (an intent with something wrong): a valid intent's
    # load never imports it (about 10 ms of CPU, issue 17).
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.allow_duplicate_keys = False
    return rt.load(text)


def _one_line(exc: BaseException) -> str:
    """A parser's error on one line: its problem and where, without the quoted source excerpt."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(exc).split()) or type(exc).__name__


def _syntax_problems(text: str, path: Path, first: BaseException | None = None) -> list[Problem]:
    """The syntax error of ``text``, positioned by ruamel.yaml; ``first`` is what libyaml raised.

    When ruamel.yaml cannot say more (it accepts the text, or fails in another way), the problem
    is ``first``'s, with libyaml's position when it has one.
    """
    from ruamel.yaml.error import MarkedYAMLError

    if isinstance(first, RecursionError):
        return [Problem("", f"invalid YAML: nested too deeply (at most {MAX_DEPTH} levels)", SourceLocation(path, 1, 1))]
    try:
        _round_trip(text)
    except RecursionError:
        return [Problem("", f"invalid YAML: nested too deeply (at most {MAX_DEPTH} levels)", SourceLocation(path, 1, 1))]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = SourceLocation(path, mark.line + 1, mark.column + 1) if mark else SourceLocation(path, 1, 1)
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        if "duplicate key" in message:
            key = re.search(r'duplicate key "?([^"\s]+)', message)
            message = f"duplicate key {key.group(1)!r}" if key else "duplicate key"
        else:
            message = _plain_words(message)
        return [Problem("", f"invalid YAML: {message}", where)]
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported, never swallowed
        return [_first_problem(first or exc, path)]
    # libyaml refused what ruamel accepts (YAML 1.1 vs 1.2 edge): report libyaml's error.
    return [_first_problem(first, path)]


def _first_problem(exc: BaseException | None, path: Path) -> Problem:
    """libyaml's error as a problem, at its own position when it has one."""
    if isinstance(exc, _DuplicateKey):
        return Problem("", f"duplicate key {exc.args[0]!r}", SourceLocation(path, 1, 1))
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = SourceLocation(path, mark.line + 1, mark.column + 1) if mark is not None else SourceLocation(path, 1, 1)
    if isinstance(exc, yaml.MarkedYAMLError):
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
    else:
        message = _one_line(exc) if exc is not None else ""
    return Problem("", f"invalid YAML: {message}" if message else "invalid YAML", where)


# The YAML parser's complaints that people meet most, in plain words; the parser's own text follows
# in parentheses. (ruamel.yaml / PyYAML messages: scanner.py, parser.py.)
_PLAIN_YAML_ERRORS = (
    ("expected <block end>",
     "this line is not indented like the lines it belongs with: align it with its siblings "
     "(same number of spaces) or indent it under its parent"),
    ("mapping values are not allowed here",
     "a 'key: value' where none can start: this line is probably indented deeper than the key "
     "above it, or a value holding ': ' needs quotes"),
    ("found character '\\t' that cannot start any token",
     "a tab character: YAML indents with spaces only"),
    ("could not find expected ':'",
     "a line without 'key:' inside a mapping, or a quote that is never closed"),
    ("expected ',' or ']'", "a '[' list that is never closed with ']'"),
    ("expected ',' or '}'", "a '{' mapping that is never closed with '}'"),
    ("found unexpected end of stream", "a quote that is never closed"),
    ("expected <document start>", "text after the document's end: check the indentation of the last lines"),
)


def _plain_words(message: str) -> str:
    for needle, words in _PLAIN_YAML_ERRORS:
        if needle in message:
            return f"{words} (parser: {message})"
    return message


def locate(doc: Any, parts: tuple, file: Path, *, at_key: bool = False) -> SourceLocation:
    """Follow ``parts`` through a round-trip document to the deepest node that has a position.

    The position is the value's for a scalar at the end of the path (what is wrong is the value),
    otherwise (or with ``at_key``) the key's.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

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


def positions(text: str, paths: set[tuple]) -> dict[tuple, tuple]:
    """Positions of every prefix of ``paths`` in YAML ``text``, from libyaml's events (no node tree).

    Returns:
        prefix path -> ``(key mark or None, node mark, is scalar)``, marks as 0-based
        ``(line, column)``; the root ``()`` maps to the document's first node. Paths that do not
        exist in ``text`` are simply absent, as are their descendants.
    """
    prefixes = {p[:i] for p in paths for i in range(len(p) + 1)}
    out: dict[tuple, tuple] = {}
    # One frame per open collection: [path, is_mapping, next index or pending key, key mark].
    stack: list[list] = []
    skip = 0  # depth inside a subtree no wanted path enters
    skipping_key = False  # that subtree is a complex mapping key: its value follows
    for event in yaml.parse(text, Loader=_FastLoader):
        kind = type(event)
        if skip:
            if kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
                skip += 1
            elif kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
                skip -= 1
                if not skip and not skipping_key:
                    _advance(stack)
                skipping_key = False
            continue
        if kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
            stack.pop()
            _advance(stack)
            continue
        if kind not in (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.AliasEvent):
            continue
        mark = (event.start_mark.line, event.start_mark.column)
        if not stack:
            path, key_mark = (), None
        else:
            frame = stack[-1]
            if frame[1] and frame[2] is _NO_KEY:  # a mapping's key
                if kind is yaml.ScalarEvent:
                    frame[2], frame[3] = event.value, mark
                else:  # a complex key: never on a wanted path
                    frame[2], frame[3] = _NO_PATH, mark
                    if kind is not yaml.AliasEvent:
                        skip, skipping_key = 1, True
                continue
            path, key_mark = (*frame[0], frame[2]), frame[3]
        collection = kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent)
        if path in prefixes:
            out[path] = (key_mark, mark, not collection)
            if collection:
                stack.append([path, kind is yaml.MappingStartEvent, _NO_KEY if kind is yaml.MappingStartEvent else 0, None])
                continue
        elif collection:
            skip = 1
            continue
        _advance(stack)
    return out


_NO_KEY = object()
_NO_PATH = object()
_COLLECTIONS = (yaml.MappingNode, yaml.SequenceNode)


def node_positions(root: Any, paths: set[tuple]) -> dict[tuple, tuple]:
    """:func:`positions` read from a composed libyaml node tree (``yaml.compose``) instead of events.

    The same result as ``positions(text, paths)`` for the tree of ``text`` when ``text`` has no
    alias (an alias node is its anchor's node, with the anchor's position); callers check that.
    Walks only the wanted prefixes, in document order, so later entries win as in the event pass.
    """
    prefixes = {p[:i] for p in paths for i in range(len(p) + 1)}
    out: dict[tuple, tuple] = {}
    if root is None or () not in prefixes:
        return out
    start = root.start_mark
    out[()] = (None, (start.line, start.column), not isinstance(root, _COLLECTIONS))
    _node_walk(root, (), prefixes, out)
    return out


def _node_walk(node: Any, path: tuple, prefixes: set[tuple], out: dict[tuple, tuple]) -> None:
    if isinstance(node, yaml.MappingNode):
        children = [
            ((*path, key.value), (key.start_mark.line, key.start_mark.column), value)
            for key, value in node.value
            if isinstance(key, yaml.ScalarNode)
        ]
    else:
        children = [((*path, i), None, item) for i, item in enumerate(node.value)]
    for child, key_mark, value in children:
        if child in prefixes:
            collection = isinstance(value, _COLLECTIONS)
            out[child] = (key_mark, (value.start_mark.line, value.start_mark.column), not collection)
            if collection:
                _node_walk(value, child, prefixes, out)


def _advance(stack: list[list]) -> None:
    """After a value: a mapping waits for its next key, a sequence counts its next item."""
    if stack:
        frame = stack[-1]
        frame[2] = _NO_KEY if frame[1] else frame[2] + 1


def _event_locate(found: dict[tuple, tuple], parts: tuple, file: Path, *, at_key: bool = False) -> SourceLocation:
    """:func:`locate` over :func:`positions` output: the same positions, from libyaml events."""
    root = found.get(())
    line, col = (root[1][0], 0) if root else (0, 0)
    for i in range(len(parts)):
        entry = found.get(parts[: i + 1])
        if entry is None:
            break
        key_mark, node_mark, scalar = entry
        last = i == len(parts) - 1
        if key_mark is None:  # a sequence item
            line, col = node_mark
        else:
            line, col = node_mark if (last and scalar and not at_key) else key_mark
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
        suggestion = did_you_mean(str(loc[-1]), allowed)
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc[-1]!r}{suggestion}{hint}"
    if kind in ("literal_error", "enum") and isinstance(err.get("input"), str):
        # "Input should be 'istio', 'linkerd' or 'cilium'" + (did you mean 'istio'?)
        choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        msg += did_you_mean(err["input"], choices)
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
