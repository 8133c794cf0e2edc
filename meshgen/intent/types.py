"""Value types shared by the intent model: durations, Kubernetes names, label maps.

Units live in types, not names: a :class:`Duration` parses Go-style strings (``500ms``, ``2s``,
``1h30m``) and keeps whole milliseconds; names follow Kubernetes' DNS-1123 rules
(https://kubernetes.io/docs/concepts/overview/working-with-objects/names/).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_FULL = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+\Z")
_UNIT_MS = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}


class Duration(int):
    """A non-negative duration in whole milliseconds, written as a Go-style string.

    Accepts ``<number><unit>`` repeated, units ``h``, ``m``, ``s``, ``ms`` (``1h30m``, ``1.5s``,
    ``250ms``). Sub-millisecond values are rejected because no target platform can express them
    (Gateway API's GEP-2257 format and Istio's durations both stop at ``ms``).
    :meth:`__str__` gives the canonical form every platform accepts: whole units only,
    largest first, e.g. ``90000`` -> ``1m30s``, ``1500`` -> ``1500ms``.
    """

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``text``; raises ValueError with the expected format."""
        if not isinstance(text, str) or not _DURATION_FULL.match(text):
            raise ValueError(
                f"expected a duration such as 500ms, 2s, 1m30s or 24h (units h, m, s, ms), got {text!r}"
            )
        total = 0.0
        for number, unit in _DURATION_PART.findall(text):
            total += float(number) * _UNIT_MS[unit]
        if total != int(total):
            raise ValueError(f"duration {text!r} is finer than a millisecond")
        return cls(int(total))

    @property
    def ms(self) -> int:
        """The duration in milliseconds."""
        return int(self)

    def __str__(self) -> str:
        ms = int(self)
        if ms == 0:
            return "0s"
        if ms % 1000:
            return f"{ms}ms"
        seconds = ms // 1000
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
        return text

    def __repr__(self) -> str:
        return f"Duration({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Duration:
            if isinstance(value, Duration):
                return value
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict:
        # JSON Schema (ECMA-262) has no \Z; its $ already means the end of the string.
        pattern = _DURATION_FULL.pattern.replace("\\Z", "$")
        return {"type": "string", "pattern": pattern, "examples": ["500ms", "2s", "24h"]}


# Patterns given to pydantic (``Field(pattern=...)``) run on its Rust regex engine, where ``$`` is
# the end of the text (no match before a final newline), and appear as such in the JSON Schema
# (ECMA-262 ``$``, same meaning). Patterns used with Python's ``re`` here always go through
# ``fullmatch``: Python's ``$`` also matches before a trailing newline.
_DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
# Gateway API HTTPQueryParamMatch.name (HTTPHeaderName's pattern, 1-256 characters).
_QUERY_PARAM_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_LABEL_KEY = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")

#: A DNS-1123 label (``reviews``, ``bookinfo``): lower case alphanumerics and ``-``, at most 63.
Name = Annotated[str, Field(pattern=_DNS1123_LABEL, min_length=1, max_length=63)]

#: A DNS-1123 subdomain (an API group, a GatewayClass name): dot-separated labels, at most 253.
Subdomain = Annotated[str, Field(pattern=_DNS1123_SUBDOMAIN, min_length=1, max_length=253)]


# --- free-form strings: one rule -------------------------------------------------------------

# Characters no free-form intent string may hold: C0 controls (tab and newline included), DEL,
# C1 controls (U+0085 included), the line and paragraph separators U+2028/U+2029, and lone
# surrogates. Every free-form string ends up in an HTTP header value or field (RFC 9110 section
# 5.5: no CTL), a URI or path (RFC 3986: no controls), a JWT claim, or a Kubernetes object that a
# person reads line by line; none of them has a use for a raw control character or line break, so
# they are refused rather than escaped into something no proxy would ever match.
_CONTROL_CHARS = "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029"
_FORBIDDEN = re.compile(f"[{_CONTROL_CHARS}\\ud800-\\udfff]")
#: JSON Schema pattern of the rule (editors flag the character; meshgen's own check is _FORBIDDEN).
TEXT_PATTERN = f"^[^{_CONTROL_CHARS}]*$"
#: A token: the rule above, and no space either (URIs, host:port).
TOKEN_PATTERN = f"^[^ {_CONTROL_CHARS}]+$"


def check_text(value: str) -> str:
    """Refuse control characters and line breaks (see ``_FORBIDDEN``); returns ``value``.

    Raises:
        ValueError: naming the first such character and its position.
    """
    bad = _FORBIDDEN.search(value)
    if bad is not None:
        char = bad.group()
        raise ValueError(
            f"{value!r} holds the control character or line break U+{ord(char):04X} at position {bad.start()}; "
            "intent strings are one line of printable text"
        )
    return value


def _check_token(value: str) -> str:
    check_text(value)
    if " " in value:
        raise ValueError(f"{value!r} must not contain spaces")
    return value


#: A free-form single-line string: any printable Unicode text, no control characters or line breaks.
Text = Annotated[str, AfterValidator(check_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})]

#: A string without spaces, control characters or line breaks (URIs, ``host:port``).
Token = Annotated[str, AfterValidator(_check_token), Field(min_length=1, json_schema_extra={"pattern": TOKEN_PATTERN})]

_HTTP_PATH_PATTERN = f"^/[^{_CONTROL_CHARS}]*$"


def _check_http_path(value: str) -> str:
    check_text(value)
    if not value.startswith("/"):
        raise ValueError(f"path {value!r} must start with /")
    return value


#: An absolute HTTP path (``/api/v1``), at most 1024 characters (Gateway API HTTPPathMatch.value,
#: HTTPPathModifier.replaceFullPath) and printable text (:data:`Text`).
HttpPath = Annotated[
    str,
    AfterValidator(_check_http_path),
    Field(min_length=1, max_length=1024, json_schema_extra={"pattern": _HTTP_PATH_PATTERN}),
]


def _check_header_name(name: str) -> str:
    if not _HEADER_NAME.fullmatch(name) or len(name) > 256:
        raise ValueError(
            f"header name {name!r} must be lower case (HTTP/2 and every mesh compare header names in lower case)"
        )
    return name


def _check_query_param_name(name: str) -> str:
    if not _QUERY_PARAM_NAME.fullmatch(name) or len(name) > 256:
        raise ValueError(
            f"query parameter name {name!r} must be 1-256 of A-Z a-z 0-9 !#$%&'*+-.^_`|~ "
            "(Gateway API HTTPQueryParamMatch.name)"
        )
    return name


_HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

#: A DNS hostname as Gateway API accepts it: lower case labels, optionally ``*.`` first.
Hostname = Annotated[str, Field(pattern=_HOSTNAME, min_length=1, max_length=253)]

#: An HTTP header name, lower case as HTTP/2 and every mesh compare them.
HeaderName = Annotated[
    str, AfterValidator(_check_header_name), Field(json_schema_extra={"pattern": "^[a-z0-9!#$%&'*+.^_`|~-]{1,256}$"})
]

#: A query parameter name (Gateway API HTTPQueryParamMatch.name: an RFC 7230 token, 1-256).
QueryParamName = Annotated[
    str,
    AfterValidator(_check_query_param_name),
    Field(json_schema_extra={"pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$"}),
]


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key) or len(key) > 317:
            raise ValueError(f"label key {key!r} is not a valid Kubernetes label key")
        if not _LABEL_VALUE.fullmatch(value):
            raise ValueError(
                f"label value {value!r} of {key!r} must be at most 63 alphanumerics, '-', '_' or '.'"
            )
    return labels


#: Kubernetes labels: ``{key: value}`` with valid label keys and values.
Labels = Annotated[dict[str, str], AfterValidator(_check_labels)]


# --- Kubernetes resource quantities ------------------------------------------------------------

# Kubernetes' quantity grammar (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/):
# a decimal number and a suffix, binary (Ki Mi Gi Ti Pi Ei), decimal (m k M G T P E) or none. The
# exponent form (1e3) is left out: no chart example uses it and it hides typos.
_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_CPU_PATTERN = r"^\d+(\.\d+)?m?$"
_MEMORY_PATTERN = r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"


def cpu_millicores(text: str) -> float:
    """A CPU quantity in millicores: ``100m`` -> 100, ``0.5`` -> 500, ``2`` -> 2000.

    Raises:
        ValueError: not ``<number>`` or ``<number>m``, zero, or finer than 1m (Kubernetes' CPU
            precision, https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#meaning-of-cpu).
    """
    match = _QUANTITY.fullmatch(text) if isinstance(text, str) else None
    if match is None or match.group(2) not in (None, "m"):
        raise ValueError(f"expected a CPU quantity such as 100m, 0.5 or 2 (cores, or millicores with m), got {text!r}")
    number = float(match.group(1))
    milli = number if match.group(2) == "m" else number * 1000
    if milli <= 0:
        raise ValueError(f"CPU quantity {text!r} must be above zero")
    if milli != int(milli):
        raise ValueError(f"CPU quantity {text!r} is finer than 1m, the smallest CPU unit Kubernetes keeps")
    return milli


def memory_mib(text: str) -> float:
    """A memory quantity in MiB (2^20 bytes): ``128Mi`` -> 128, ``1Gi`` -> 1024, ``500M`` -> 476.837...

    Raises:
        ValueError: not ``<number>[suffix]`` with a binary (Ki..Ei) or decimal (k..E) suffix, or zero.
            ``m`` (milli) is refused: ``128m`` is 0.128 bytes to Kubernetes, always a typo for ``128Mi``.
    """
    match = _QUANTITY.fullmatch(text) if isinstance(text, str) else None
    if match is not None and match.group(2) == "m":
        raise ValueError(f"memory quantity {text!r} is in milli-bytes (m); did you mean {match.group(1)}Mi?")
    if match is None:
        raise ValueError(f"expected a memory quantity such as 128Mi, 1Gi or 500M (suffixes Ki Mi Gi Ti Pi Ei k M G T P E), got {text!r}")
    suffix = match.group(2) or ""
    number = float(match.group(1)) * (_BINARY.get(suffix) or _DECIMAL[suffix])
    if number <= 0:
        raise ValueError(f"memory quantity {text!r} must be above zero")
    return number / 2**20


def _check_cpu(text: str) -> str:
    cpu_millicores(text)
    return text


def _check_memory(text: str) -> str:
    memory_mib(text)
    return text


#: A Kubernetes CPU quantity (``100m``, ``0.5``, ``2``), kept as written for Helm values.
CpuQuantity = Annotated[
    str, AfterValidator(_check_cpu), Field(json_schema_extra={"pattern": _CPU_PATTERN, "examples": ["100m", "0.5", "2"]})
]

#: A Kubernetes memory quantity (``128Mi``, ``1Gi``, ``500M``), kept as written for Helm values.
MemoryQuantity = Annotated[
    str,
    AfterValidator(_check_memory),
    Field(json_schema_extra={"pattern": _MEMORY_PATTERN, "examples": ["128Mi", "1Gi"]}),
]
