"""The figures ``meshgen cost`` multiplies: per pod, per node, per waypoint, per control-plane replica.

Defaults ship as ``meshgen/data/cost-figures.yaml`` (sources cited there). ``--figures FILE`` has
the same layout (``version: 1``, ``platforms: {name: entry}``); each platform it names replaces
that platform's default entry whole, so a file never mixes two sources in one platform. A bad
file is refused with every problem at ``file:line:col: field.path: message`` (exit 1).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from meshgen.errors import MeshgenError, Problem, SourceLocation

DEFAULT_FILE = "cost-figures.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Range(_Model):
    """A figure as ``low <= typical <= high`` (MiB, millicores or ms, by the key that holds it)."""

    low: float = Field(ge=0)
    typical: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low <= self.typical <= self.high:
            raise ValueError(f"expected low <= typical <= high, got {self.low:g}, {self.typical:g}, {self.high:g}")
        return self

    def times(self, n: float) -> Range:
        """Every value multiplied by ``n``."""
        return Range(low=self.low * n, typical=self.typical * n, high=self.high * n)

    def plus(self, other: Range) -> Range:
        """The sum, value by value."""
        return Range(low=self.low + other.low, typical=self.typical + other.typical, high=self.high + other.high)


ZERO = Range(low=0, typical=0, high=0)


class Component(_Model):
    """A workload the platform adds: memory (MiB) and CPU (millicores) per instance; None = unknown.

    ``proxy: true`` marks the platform's data-plane proxy when it runs per node (ztunnel,
    cilium-envoy): the intent's ``mesh.proxy.resources`` then sizes it (:mod:`meshgen.cost.intent_sizes`).
    """

    name: str
    proxy: bool = False
    memory: Range | None = Field(alias="memoryMiB")
    cpu: Range | None = Field(alias="cpuMillicores")
    source: str = Field(min_length=1)


class Sidecar(_Model):
    """The proxy added to every pod of the intent."""

    memory: Range = Field(alias="memoryMiB")
    cpu: Range = Field(alias="cpuMillicores")
    source: str = Field(min_length=1)


class Waypoint(_Model):
    """An L7 proxy per planned object rendered from ``template``, times the control-plane replicas."""

    template: str
    memory: Range = Field(alias="memoryMiB")
    cpu: Range = Field(alias="cpuMillicores")
    source: str = Field(min_length=1)


class PlatformFigures(_Model):
    """One platform's entry."""

    sidecar: Sidecar | None = None
    per_node: list[Component] = Field(default_factory=list, alias="perNode")
    waypoint: Waypoint | None = None
    control_plane: list[Component] = Field(default_factory=list, alias="controlPlane")
    hop_p99: Range | None = Field(None, alias="hopP99Ms")
    hop_source: str = Field(alias="hopSource", min_length=1)


class FiguresFile(_Model):
    """A figures file."""

    version: int = Field(1, ge=1, le=1)
    platforms: dict[str, PlatformFigures]


def _parse(text: str, path: Path) -> FiguresFile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = SourceLocation(path, mark.line + 1, mark.column + 1) if mark is not None else None
        raise FiguresError([Problem("", f"not YAML: {getattr(exc, 'problem', exc)}", where)], path) from None
    try:
        return FiguresFile.model_validate(data)
    except ValidationError as exc:
        from meshgen.loader import _round_trip, locate

        doc = _round_trip(text)
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper()))
            field = ".".join(str(p) for p in loc)
            message = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(field, message, locate(doc, loc, path)))
        raise FiguresError(problems, path) from None


class FiguresError(MeshgenError):
    """Every problem of a ``--figures`` file, with its position (exit 1, as an invalid intent)."""

    def __init__(self, problems: list[Problem], path: Path) -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        MeshgenError.__init__(self, f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in figures file {path}:\n{lines}")


def load(override: Path | None = None) -> dict[str, PlatformFigures]:
    """Platform name -> figures: the shipped defaults, with ``override``'s platforms replacing theirs.

    Raises:
        FiguresError: the override (or, a meshgen bug, the default file) does not fit the layout.
        UsageError: the override file does not exist.
    """
    default_text = resources.files("meshgen").joinpath("data", DEFAULT_FILE).read_text(encoding="utf-8")
    figures = dict(_parse(default_text, Path("meshgen/data") / DEFAULT_FILE).platforms)
    if override is not None:
        from meshgen.errors import UsageError

        if not override.is_file():
            raise UsageError(f"figures file {override} does not exist")
        figures.update(_parse(override.read_text(encoding="utf-8"), override).platforms)
    return figures


def as_data(figures: PlatformFigures) -> dict[str, Any]:
    """The entry as plain data, in the file's own keys (for ``-o json``)."""
    return figures.model_dump(mode="json", by_alias=True)
