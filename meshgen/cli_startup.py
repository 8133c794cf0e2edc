"""Keep ``meshgen COMMAND --help`` from importing pydantic (issue 17: start-up under 0.12 s).

typer 0.29 coerces every parameter through a pydantic ``TypeAdapter`` built on first use
(``typer.core._TyperParameter.get_runtime_param``), and builds it even for a parameter whose value
is absent (``None``), although its coercion of ``None`` never touches the adapter
(``typer._coercion.RuntimeParam.coerce``: ``()`` for a multi-value parameter, else ``None``).
Before ``--help`` of a subcommand exits, click processes the group's absent ``--help``,
``--install-completion`` and ``--show-completion``: importing ``typer._adapters`` and pydantic for
them was 0.08 s of the 0.15 s start-up.

:func:`install` answers an absent value the way typer's own coercion does, then runs the same
required check and callback as ``_TyperParameter.process_value``; every present value still goes
through typer unchanged. Typer versions without ``_TyperParameter`` (before the adapters) are left
alone.
"""

from __future__ import annotations

from typing import Any


def install() -> bool:
    """Patch typer's parameter processing once; return whether typer has the lazy adapters to patch.

    Idempotent. No error is raised for other typer versions: the patch is simply not applied.
    """
    try:
        from typer._click.exceptions import MissingParameter
        from typer.core import _TyperParameter
    except ImportError:
        return False
    original = _TyperParameter.process_value
    if getattr(original, "_meshgen_none_first", False) or not hasattr(_TyperParameter, "get_runtime_param"):
        return False

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        if value is not None:
            return original(self, ctx, value)
        # typer._coercion.RuntimeParam.coerce(None), without building the TypeAdapter.
        value = () if (self.multiple or self.nargs == -1) else None
        if self.required and self.value_is_missing(value):
            raise MissingParameter(ctx=ctx, param=self)
        if self.callback is not None:
            value = self.callback(ctx, self, value)
        return value

    process_value._meshgen_none_first = True  # type: ignore[attr-defined]
    _TyperParameter.process_value = process_value
    return True
