"""Lay planned objects out as YAML text with Jinja.

The environment is configured once for YAML: templates come from the packaged ``templates/``
folder, ``StrictUndefined`` turns a typo into an error instead of an empty field, and every
interpolated value goes through the :func:`yaml_scalar` filter (``| y``), so no name or string
from an intent can inject YAML. Output is deterministic: objects in the plan's order, no
timestamps.
"""

from __future__ import annotations

import json
import json.encoder
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

import jinja2

from meshgen.platforms.base import Plan, PlannedFile, PlannedObject

# A plain scalar is emitted unquoted only when no YAML 1.1 or 1.2 parser can read it as anything
# but this string: starts with a letter, '/' or '_', has no indicator characters, and is not a
# boolean or null word in any YAML version. Always ``fullmatch``: ``$`` would match before a
# trailing newline, and "a\n" written plain parses back as "a".
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")
# Durations (30s, 1m30s, 500ms) start with a digit but no YAML version reads them as numbers.
_PLAIN_DURATION = re.compile(r"(?:[0-9]+(?:ms|h|m|s))+")
_RESERVED = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
)
# What json.dumps(ensure_ascii=False) leaves raw but a YAML parser would not read back as itself:
# DEL and the C1 controls are outside YAML's printable set (YAML 1.2 section 5.1), U+0085, U+2028
# and U+2029 are line breaks to YAML 1.1 parsers (PyYAML folds them inside quoted scalars),
# U+FEFF is a byte order mark to some readers, U+FFFE/U+FFFF and lone surrogates are not
# printable. All become \uXXXX escapes, which mean the same in YAML 1.1 and 1.2.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
# A YAML implicit (single-line) key is at most 1024 characters (YAML 1.2 section 7.4.2);
# longer keys are written as explicit "? key" entries by yaml_block.
_MAX_IMPLICIT_KEY = 1024


def yaml_scalar(value: Any) -> str:
    """Render one value as a YAML flow scalar that parses back to exactly ``value``.

    The one emitter of every string meshgen writes (values and keys; templates reach it as the
    ``| y`` filter). Strings are plain when unambiguous, otherwise double-quoted: JSON's
    escaping (every C0 control, ``"`` and ``\\``) plus ``\\uXXXX`` for the characters YAML
    parsers would not read back verbatim (see ``_UNSAFE``). The result is one line and round-trips
    exactly through YAML 1.2 (ruamel.yaml) and YAML 1.1 (PyYAML) parsers, for every Unicode
    string (tests/test_render_safety.py checks it with hypothesis). Raises TypeError for lists or
    mappings (templates lay those out themselves) and ValueError for NaN and infinities.
    """
    kind = type(value)
    if kind is str:
        return _string_scalar(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("non-finite numbers are not valid in Kubernetes objects")
        return repr(float(value))
    if isinstance(value, str):
        return _string_scalar(str(value))
    raise TypeError(f"yaml_scalar takes a scalar, got {type(value).__name__}")


@lru_cache(maxsize=1 << 16)
def _string_scalar(value: str) -> str:
    # Cached: label keys, names and values repeat across thousands of objects (the hot path).
    if (_PLAIN.fullmatch(value) and value.lower() not in _RESERVED) or _PLAIN_DURATION.fullmatch(value):
        return value
    return _double_quoted(value)


# What json.dumps(value, ensure_ascii=False) returns for a string, without building an encoder
# per call (json.dumps does, for any non-default argument): JSONEncoder.encode calls exactly this.
_json_string = json.encoder.encode_basestring


def _double_quoted(value: str) -> str:
    text = _json_string(value)
    if _UNSAFE.search(text) is None:  # the common case: one scan, no rebuild
        return text
    return _UNSAFE.sub(_escape_char, text)


def _escape_char(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def yaml_quoted(value: Any) -> str:
    """Always a double-quoted string (annotation values, ports Cilium wants as strings).

    Same escaping as :func:`yaml_scalar`, so it round-trips just as exactly.
    """
    return _double_quoted(str(value))


def yaml_block(value: Any, indent: int) -> str:
    """Lay out plain data (mappings, lists, scalars) as a YAML block at ``indent`` spaces.

    For sub-structures (a route's matches, a filter's config) whose shape the surrounding template
    already shows. Every key and scalar goes through :func:`yaml_scalar`; mappings keep their
    insertion order (planners build them in the order Kubernetes documents show); list items are
    indented two spaces under their key. No trailing newline.
    """
    lines: list[str] = []
    _emit(value, indent, lines)
    return "\n".join(lines)


def _inline(value: Any) -> str | None:
    """The value written on the key's own line (a scalar, ``{}`` or ``[]``), or None for a block."""
    kind = type(value)
    if kind is dict or kind is list:
        return None if value else ("{}" if kind is dict else "[]")
    if isinstance(value, (dict, list)):
        return None if value else ("{}" if isinstance(value, dict) else "[]")
    return yaml_scalar(value)


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            # Strings are most keys and values: straight to the cached emitter (what yaml_scalar
            # and _inline would call for them), skipping two layers of type tests.
            inline = _string_scalar(item) if type(item) is str else _inline(item)
            written = _string_scalar(key) if type(key) is str else yaml_scalar(key)
            if len(written) > _MAX_IMPLICIT_KEY:
                lines.append(f"{pad}? {written}")  # explicit key: implicit ones stop at 1024 characters
                written = ""
            if inline is not None:
                lines.append(f"{pad}{written}: {inline}")
            else:
                lines.append(f"{pad}{written}:")
                _emit(item, indent + 2, lines)
    elif isinstance(value, list):
        for item in value:
            inline = _inline(item)
            if inline is not None:
                lines.append(f"{pad}- {inline}")
            else:
                sub: list[str] = []
                _emit(item, indent + 2, sub)
                sub[0] = f"{pad}- {sub[0][indent + 2:]}"
                lines.extend(sub)
    else:
        lines.append(pad + yaml_scalar(value))


def templates_dir() -> Path:
    """The templates folder: inside the installed wheel, or the repository's top-level one."""
    packaged = resources.files("meshgen") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "templates"


#: Names a plain dict answers as attributes (``items``, ``keys``, ``values``...): Jinja's
#: ``o.values`` is the method, never the key, and :class:`_Environment` keeps it so.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """Jinja's environment with two shortcuts that render exactly the same text (issue 17).

    - ``o.field`` on a plain dict: Jinja tries ``getattr(o, "field")`` first, which for a dict
      raises AttributeError for every name but dict's own methods, and only then ``o["field"]``.
      Here a dict is subscripted directly unless the name is one of dict's attributes; a missing
      key still goes Jinja's way (StrictUndefined). Planner values are plain dicts, so this is
      most lookups of every object.
    - Template globals: Jinja keeps them as a ChainMap over the environment's and copies them into
      every render's context (and every macro import) through ChainMap's Python-level iteration.
      meshgen never changes the environment's globals after :func:`environment` builds it, so
      each template gets one flat copy instead.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def make_globals(self, d: Any) -> Any:
        return {**self.globals, **(d or {})}


#: The one shared macro of object templates: each uses it through exactly these two lines.
_MACROS_IMPORT = '{% import "_macros.j2" as m %}\n'
# The call, with the whitespace control of its tag (kept as written).
_METADATA_CALL = re.compile(r"(\{\{-?) m\.metadata\(meta, o\) (-?\}\})")
# A use of the macros module other than the metadata call (then the import line stays).
_OTHER_MACRO_USE = re.compile(r"\bm\.")
#: The filter the loader calls the metadata macro through.
_METADATA_FILTER = "_metadata_macro"


class _Loader(jinja2.FileSystemLoader):
    """The templates folder, with ``_macros.j2``'s ``metadata`` macro called as a filter.

    Every object template lays its metadata out with ``{{ m.metadata(meta, o) -}}``. As written,
    Jinja imports ``_macros.j2`` on every render, then calls the macro through ``context.call``
    and the Macro object's argument handling: about 3.5 us of an object's 16-30 (issue 17). The
    loader rewrites the call to ``{{ meta | _metadata_macro(o) -}}``: a direct call of the same
    compiled macro (see :func:`_metadata_macro`), with the same arguments and the same whitespace
    control, so the same text; the import line goes when nothing else uses ``m``. The layout
    still lives in ``_macros.j2``. (Putting the macro's body in place of the call saves as much
    per object but doubles each template's compile time, which every run pays.)
    """

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        if template != "_macros.j2" and _METADATA_CALL.search(source) is not None:
            source = _METADATA_CALL.sub(rf"\1 meta | {_METADATA_FILTER}(o) \2", source)
            if _OTHER_MACRO_USE.search(source.replace(_MACROS_IMPORT, "")) is None:
                source = source.replace(_MACROS_IMPORT, "")
        return source, filename, uptodate


def _metadata_macro(env: jinja2.Environment) -> Callable[[Any, Any], str]:
    """``metadata(meta, o)`` of ``_macros.j2`` in ``env``, as a plain function for the loader's filter.

    The macro's compiled body (``Macro._func``, what ``Macro.__call__`` ends in for two
    positional arguments and no caller, varargs or kwargs), fetched on first use from the module
    a ``{% import %}`` gets; the Macro object itself if a Jinja version names it otherwise.
    """
    found: list[Callable[[Any, Any], str]] = []

    def metadata(meta: Any, o: Any) -> str:
        if not found:
            macro = env.get_template("_macros.j2").module.metadata
            found.append(getattr(macro, "_func", macro))
        return found[0](meta, o)

    return metadata


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja environment for meshgen's own templates."""
    return build_environment(_Loader(str(templates_dir())))


def build_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """A Jinja environment configured as :func:`environment`'s, reading templates from ``loader``.

    For tests: with a plain ``jinja2.FileSystemLoader`` over :func:`templates_dir` it renders the
    templates as written, macro calls included (see :class:`_Loader`).
    """
    env = _Environment(
        loader=loader,
        auto_reload=False,  # templates never change during a run; saves two stat() calls per object
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["y"] = yaml_scalar
    env.filters["q"] = yaml_quoted
    env.filters["block"] = yaml_block
    env.filters["sorted_map"] = lambda mapping: dict(sorted(mapping.items()))
    env.filters[_METADATA_FILTER] = _metadata_macro(env)
    return env


@lru_cache(maxsize=None)
def _template(name: str) -> jinja2.Template:
    return environment().get_template(name)


def render_object(obj: PlannedObject) -> str:
    """One object as a YAML document (no leading ``---``)."""
    template = _template(obj.template)
    # Template.render(o=..., meta=...) without its keyword-dict copies: the same context, the
    # same concatenation, and Jinja's own error rewriting (handle_exception re-raises). The
    # context is built as Template.new_context builds it (jinja2.runtime.new_context with
    # shared=False and no locals: the template's globals, then the variables), without its two
    # layers of calls: about 2 us of an object's 16-30 (issue 17).
    globals_ = template.globals
    try:
        context = template.environment.context_class(
            template.environment,
            {**globals_, "o": obj.values, "meta": _meta(obj)},
            template.name,
            template.blocks,
            globals=globals_,
        )
        return "".join(template.root_render_func(context))
    except Exception:
        template.environment.handle_exception()


def render_file(planned: PlannedFile) -> str:
    """One non-object file (e.g. Helm values)."""
    return _template(planned.template).render(o=planned.values)


def _meta(obj: PlannedObject) -> dict:
    return {"name": obj.name, "namespace": obj.namespace, "api_version": obj.api_version, "kind": obj.kind}


def render_stream(plan: Plan) -> str:
    """All objects of ``plan`` as one multi-document YAML stream."""
    return join_documents(render_object(o) for o in plan.objects)


def join_documents(documents: Iterable[str]) -> str:
    """Join YAML documents with ``---`` separators."""
    return "".join(f"---\n{doc}" for doc in documents)
