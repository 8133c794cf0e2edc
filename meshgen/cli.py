"""The ``meshgen`` command: thin wrappers over :mod:`meshgen.pipeline` and friends.

Exit codes (also in README): 0 success; 1 invalid intent, invalid output, or drift found by
``check``; 2 usage error; 3 the platform cannot express part of the intent and ``--allow-loss``
was not given. Errors go to stderr; stdout carries only the requested output (a YAML stream, a
diff, a table, JSON, a schema), and nothing half-written.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from meshgen import pipeline
from meshgen.errors import EXIT_INVALID, EXIT_LOSS, IntentLossError, MeshgenError, OutputError
from meshgen.loader import LoadedIntent, load
from meshgen.output import write_platform_folder
from meshgen.progress import progress
from meshgen.report import findings_json, findings_text, matrix_json, matrix_rows

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Render one declarative intent into service-mesh manifests for Istio, Linkerd and Cilium.",
    pretty_exceptions_enable=False,
)


class ReportFormat(str, Enum):
    """How findings are printed on stderr."""

    text = "text"
    json = "json"


IntentArgs = Annotated[
    list[Path],
    typer.Argument(
        help="Intent file(s), or directories of them: several are merged into one intent.", show_default=False
    ),
]
PlatformOpt = Annotated[
    Optional[str], typer.Option("--platform", "-p", help="Target platform; default: the intent's spec.platform.")
]
AllowLossOpt = Annotated[
    bool, typer.Option("--allow-loss", help="Proceed even when the platform cannot express part of the intent.")
]


def _err(text: str) -> None:
    if text:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")


def _fail(exc: MeshgenError) -> typer.Exit:
    _err(f"error: {exc}")
    return typer.Exit(exc.exit_code)


def _load(paths: list[Path]) -> LoadedIntent:
    loaded = load(paths)
    for problem in loaded.warnings():
        _err(f"warning: {problem}")
    return loaded


def _render(loaded: LoadedIntent, paths: list[Path], target: str, allow_loss: bool, report: ReportFormat | None, phase):
    """Render in memory and enforce --allow-loss; ``report`` None prints findings only on refusal."""
    rendering = pipeline.render(loaded.intent, target, pipeline.source_name(paths), phase(f"rendering {target}"))
    findings = rendering.plan.findings
    lost = [f for f in findings if f.loses_intent]
    if report is ReportFormat.json:
        _err(findings_json(target, findings))
    elif report is ReportFormat.text or (lost and not allow_loss):
        _err(findings_text(target, findings if report else lost))
    if lost and not allow_loss:
        raise IntentLossError(
            f"{target} cannot express {len(lost)} part{'s' if len(lost) != 1 else ''} of the intent "
            "(LOST above); nothing was written. Pass --allow-loss to render without them."
        )
    return rendering


@app.command()
def render(
    intent_paths: IntentArgs,
    platform: PlatformOpt = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write one file per object under DIR/<platform>/.")
    ] = None,
    allow_loss: AllowLossOpt = False,
    report: Annotated[ReportFormat, typer.Option("--report", help="Findings format on stderr.")] = ReportFormat.text,
) -> None:
    """Render the intent for a platform: a YAML stream on stdout, or files under --output."""
    try:
        loaded = _load(intent_paths)
        target = platform or loaded.intent.spec.platform
        with progress() as phase:
            rendering = _render(loaded, intent_paths, target, allow_loss, report, phase)
            if output is None:
                sys.stdout.write(rendering.stream)
                return
            folder = output / target
            changes = write_platform_folder(folder, rendering.files, phase(f"writing {folder}"))
        if not changes.drifted:
            _err(f"{folder} is up to date ({len(rendering.files)} files)")
            return
        _err(
            f"wrote {len(rendering.files)} files to {folder} "
            f"({len(changes.added)} new, {len(changes.changed)} changed, {len(changes.stale)} removed)"
        )
        for rel in changes.stale:
            _err(f"removed stale generated file {folder / rel}")
    except MeshgenError as exc:
        raise _fail(exc) from None


@app.command()
def check(
    intent_paths: IntentArgs,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The directory meshgen render wrote (DIR of DIR/<platform>/).")
    ],
    platform: PlatformOpt = None,
    allow_loss: AllowLossOpt = False,
) -> None:
    """Exit 1 with a unified diff when DIR/<platform> is not exactly what render would write.

    Compares a fresh in-memory rendering with the files meshgen wrote: changed, missing and stale
    generated files are drift; files meshgen did not write are ignored. Run it with the same
    arguments as render, from the same directory (file headers name the intent paths as given).
    """
    from meshgen.check import check_folder

    try:
        loaded = _load(intent_paths)
        target = platform or loaded.intent.spec.platform
        with progress() as phase:
            rendering = _render(loaded, intent_paths, target, allow_loss, None, phase)
        result = check_folder(output / target, rendering.files)
        if result.ok:
            _err(result.summary())
            return
        sys.stdout.write(result.diff)
        _err(result.summary())
        raise typer.Exit(EXIT_INVALID)
    except MeshgenError as exc:
        raise _fail(exc) from None


@app.command()
def validate(
    intent_paths: IntentArgs,
    platform: PlatformOpt = None,
    crds: Annotated[
        Optional[Path],
        typer.Option("--crds", help="Also render and check every object against the CRDs in this folder."),
    ] = None,
    experimental: Annotated[
        bool, typer.Option("--experimental", help="Use the Gateway API experimental channel CRDs found in --crds.")
    ] = False,
) -> None:
    """Check the intent; with --crds, also check every rendered object as the API server would."""
    try:
        loaded = _load(intent_paths)
        name = pipeline.source_name(intent_paths)
        if crds is None:
            _err(f"{name}: intent is valid")
            return
        from meshgen.kube import CRDCatalog, validate_objects

        target = platform or loaded.intent.spec.platform
        rendering = pipeline.render(loaded.intent, target, name)
        catalog = CRDCatalog.from_directory(crds, experimental=experimental)
        violations = validate_objects(rendering.objects(), catalog)
        if violations:
            raise OutputError(
                f"{len(violations)} rendered object problem{'s' if len(violations) != 1 else ''} for {target}:\n"
                + "\n".join(str(v) for v in violations)
            )
        _err(f"{name}: intent is valid; {len(rendering.documents)} {target} objects accepted by {crds}")
    except MeshgenError as exc:
        raise _fail(exc) from None


@app.command()
def diff(
    intent_paths: IntentArgs,
    source: Annotated[str, typer.Option("--from", help="The platform you are on.", show_default=False)],
    target: Annotated[str, typer.Option("--to", help="The platform you consider.", show_default=False)],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")] = False,
    changes_only: Annotated[
        bool, typer.Option("--changes-only", help="Leave out features that fare the same on both platforms.")
    ] = False,
) -> None:
    """What changes when the intent moves from one platform to another.

    Per service and feature: what becomes approximated or lost, what is gained, from the capability
    data of both platforms; and the objects each side emits.
    """
    from meshgen.platform_diff import compare_plans, diff_json, diff_tables

    try:
        loaded = _load(intent_paths)
        result = compare_plans(pipeline.plan(loaded.intent, source), pipeline.plan(loaded.intent, target))
    except MeshgenError as exc:
        raise _fail(exc) from None
    if json_output:
        sys.stdout.write(diff_json(result))
        return
    from rich.console import Console

    console = Console(width=max(Console().width, 160) if sys.stdout.isatty() else 200)
    for renderable in diff_tables(result, show_unchanged=not changes_only):
        console.print(renderable)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the intent (for editors: # yaml-language-server: $schema=...)."""
    from meshgen.schema import schema_json

    sys.stdout.write(schema_json())


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="The new repository's folder (missing or empty).")],
    platform: Annotated[str, typer.Option("--platform", "-p", help="Target platform of the starter intent.")] = "istio",
    name: Annotated[
        Optional[str], typer.Option("--name", help="Application name (metadata.name); default: the folder's name.")
    ] = None,
    namespace: Annotated[Optional[str], typer.Option("--namespace", help="Namespace; default: the name.")] = None,
) -> None:
    """Create a starter repository: intent, schema, Makefile, pre-commit config, CI workflow."""
    from meshgen.scaffold import init_project

    try:
        created = init_project(directory, platform=platform, name=name, namespace=namespace)
    except MeshgenError as exc:
        raise _fail(exc) from None
    for path in created:
        _err(f"created {path}")
    _err(f"next: cd {directory} && make render && git init && git add . (then pre-commit install)")


@app.command()
def platforms(
    json_output: Annotated[bool, typer.Option("--json", help="Print the matrix as JSON.")] = False,
) -> None:
    """List the target platforms and what each supports (the capability matrix)."""
    if json_output:
        sys.stdout.write(matrix_json())
        return
    from rich.console import Console
    from rich.table import Table

    from meshgen.capabilities import PLATFORM_NAMES
    from meshgen.platforms import PLATFORMS

    console = Console(width=200)
    for name, plat in sorted(PLATFORMS.items()):
        console.print(f"[bold]{name}[/bold]: {plat.description}")
    table = Table(title="Capability matrix (native / approximated / not-expressible)", show_lines=False)
    table.add_column("feature")
    table.add_column("intent")
    for name in PLATFORM_NAMES:
        table.add_column(name)
    for row in matrix_rows():
        table.add_row(row["feature"], row["intent"], *(row[p] for p in PLATFORM_NAMES))
    console.print(table)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main", "EXIT_INVALID", "EXIT_LOSS"]
