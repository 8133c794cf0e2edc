"""Kubernetes object-name rules (k8s.io/apimachinery/pkg/util/validation), worded as the API server.

Used for ``metadata`` checks and by CEL's ``format`` library (``format.dns1123Label()`` ...).
Each function returns the reasons a value breaks the rule, an empty list when it is valid.
Source: https://github.com/kubernetes/apimachinery/blob/master/pkg/util/validation/validation.go
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

__all__ = [
    "dns1035_label_errors",
    "dns1123_label_errors",
    "dns1123_subdomain_errors",
    "label_value_errors",
    "qualified_name_errors",
]


_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*"
_DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = rf"({_QUALIFIED_NAME})?"


def _memo(check: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """``check`` with its answers remembered per value (a fresh list each call, so callers may
    change it). A rendered mesh repeats the same namespaces, label keys and values thousands of
    times; each answer costs a regular-expression match and, for a bad value, a message."""
    remembered = functools.lru_cache(maxsize=1 << 16)(lambda value: tuple(check(value)))

    @functools.wraps(check)
    def checked(value: str) -> list[str]:
        return list(remembered(value))

    return checked


@functools.cache
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _regex_error(what: str, regex: str, examples: Sequence[str]) -> str:
    shown = ",  or ".join(f"'{e}'" for e in examples)
    return f"{what} (e.g. {shown}, regex used for validation is '{regex}')"


def _name_errors(value: str, max_length: int, regex: str, what: str,
                 examples: Sequence[str]) -> list[str]:
    errors = []
    if len(value) > max_length:
        errors.append(f"must be no more than {max_length} characters")
    if not _compiled(regex).fullmatch(value):
        errors.append(_regex_error(what, regex, examples))
    return errors


@_memo
def dns1123_label_errors(value: str) -> list[str]:
    """Why ``value`` is not an RFC 1123 label (empty list when it is one)."""
    return _name_errors(value, 63, _DNS1123_LABEL,
                        "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                        "characters or '-', and must start and end with an alphanumeric character",
                        ["my-name", "123-abc"])


@_memo
def dns1123_subdomain_errors(value: str) -> list[str]:
    """Why ``value`` is not an RFC 1123 subdomain (empty list when it is one)."""
    return _name_errors(value, 253, _DNS1123_SUBDOMAIN,
                        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                        "characters, '-' or '.', and must start and end with an alphanumeric "
                        "character", ["example.com"])


@_memo
def dns1035_label_errors(value: str) -> list[str]:
    """Why ``value`` is not an RFC 1035 label (Service names must be one)."""
    return _name_errors(value, 63, _DNS1035_LABEL,
                        "a DNS-1035 label must consist of lower case alphanumeric characters or "
                        "'-', start with an alphabetic character, and end with an alphanumeric "
                        "character", ["my-name", "abc-123"])


@_memo
def label_value_errors(value: str) -> list[str]:
    """Why ``value`` is not a valid label value (empty is valid)."""
    return _name_errors(value, 63, _LABEL_VALUE,
                        "a valid label must be an empty string or consist of alphanumeric "
                        "characters, '-', '_' or '.', and must start and end with an "
                        "alphanumeric character", ["MyValue", "my_value", "12345"])


@_memo
def qualified_name_errors(value: str) -> list[str]:
    """Why ``value`` is not a qualified name such as a label key ``example.com/my-key``."""
    prefix, _, name = value.rpartition("/")
    errors = []
    if "/" in prefix:
        return [_regex_error(
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character",
            _QUALIFIED_NAME, ["MyName", "my.name", "123-abc"])
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if "/" in value:
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend(f"prefix part {e}" for e in dns1123_subdomain_errors(prefix))
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if name and not _compiled(_QUALIFIED_NAME).fullmatch(name):
        errors.append("name part " + _regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character", _QUALIFIED_NAME, ["MyName", "my.name", "123-abc"]))
    return errors
