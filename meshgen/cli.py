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
from meshgen.gcpause import gc_paused
from meshgen.loader import LoadedIntent, load
from meshgen.output import write_platform_folder
from meshgen.platforms.registry import DEFAULT as DEFAULT_PLATFORM
from meshgen.platforms.registry import names as platform_names
from meshgen.progress import progress
from meshgen.report import findings_json, findings_text, matrix_json, matrix_rows

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=f"Render one declarative intent into service-mesh manifests for {', '.join(platform_names())}.",
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
    Optional[str], typer.Option("--platform", "-p", help=f"Target platform ({', '.join(platform_names())}); default: the intent's spec.platform.")
]
AllowLossOpt = Annotated[
    bool,
    typer.Option("--allow-loss", help="Accept every loss: proceed even when the platform cannot express part of the intent."),
]
AcceptLossOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--accept-loss",
        metavar="FEATURE[=SERVICE]",
        help="Accept this loss (repeatable), e.g. retry-budget or retry-budget=shop/api; others still refuse.",
        show_default=False,
    ),
]


def _err(text: str) -> None:
    if text:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")


def _fail(exc: MeshgenError) -> typer.Exit:
    _err(f"error: {exc}")
    return typer.Exit(exc.exit_code)


def _analyzed(paths: list[Path]):
    """Load and analyze: analyzer errors refuse the intent (exit 1); returns the intent and its warnings."""
    from meshgen.analyze import AnalysisError, Severity, analyze

    with gc_paused():  # see meshgen.gcpause: a process-wide setting, so the CLI's to make
        loaded = load(paths)
        analysis = analyze(loaded)
    errors = [f for f in analysis.findings if f.severity is Severity.error]
    if errors:
        raise AnalysisError(errors)
    return loaded, [f for f in analysis.findings if f.severity is Severity.warning]


def _load(paths: list[Path]) -> LoadedIntent:
    """Load and analyze; analyzer warnings go to stderr, one line each."""
    loaded, warnings = _analyzed(paths)
    for finding in warnings:
        _err(finding.text())
    return loaded


def _render(
    loaded: LoadedIntent,
    paths: list[Path],
    target: str,
    allow_loss: bool,
    accept: list[str] | None,
    report: ReportFormat | None,
    phase=None,
    warnings=(),
):
    """Render in memory and apply the loss gate (:mod:`meshgen.losses`).

    ``report`` None prints findings only on refusal. Raises IntentLossError for refused losses.
    With ``--report json``, analyzer ``warnings`` go into the JSON document (key ``analyzers``).
    """
    from meshgen.losses import judge, parse_accepts

    acceptances = parse_accepts(accept or [])
    with gc_paused():
        on_object = phase(f"rendering {target}") if phase is not None else None
        rendering = pipeline.render(loaded.intent, target, pipeline.source_name(paths), on_object)
    findings = rendering.plan.findings
    verdict = judge(findings, loaded.intent, target, acceptances, allow_all=allow_loss)
    if report is ReportFormat.json:
        if warnings:
            import json

            from meshgen.analyze.formats import _row

            doc = json.loads(findings_json(target, findings, verdict.accepted))
            doc["analyzers"] = [_row(f) for f in warnings]
            _err(json.dumps(doc, indent=2, sort_keys=True))
        else:
            _err(findings_json(target, findings, verdict.accepted))
    elif report is ReportFormat.text or verdict.refused:
        _err(findings_text(target, findings if report else verdict.refused, verdict.accepted))
    if verdict.refused:
        count = len(verdict.refused)
        raise IntentLossError(
            f"{target} cannot express {count} part{'s' if count != 1 else ''} of the intent (LOST above); nothing "
            "was written. Accept named losses with --accept-loss FEATURE[=SERVICE] or spec.acceptedLosses, or all "
            "with --allow-loss."
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
    accept_loss: AcceptLossOpt = None,
    report: Annotated[ReportFormat, typer.Option("--report", help="Findings format on stderr.")] = ReportFormat.text,
) -> None:
    """Render the intent for a platform: a YAML stream on stdout, or files under --output."""
    try:
        if report is ReportFormat.json:
            loaded, warnings = _analyzed(intent_paths)
        else:
            loaded, warnings = _load(intent_paths), []
        target = platform or loaded.intent.spec.platform
        with progress() as phase:
            rendering = _render(loaded, intent_paths, target, allow_loss, accept_loss, report, phase, warnings)
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
    accept_loss: AcceptLossOpt = None,
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
            rendering = _render(loaded, intent_paths, target, allow_loss, accept_loss, None, phase)
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
    allow_loss: AllowLossOpt = False,
    accept_loss: AcceptLossOpt = None,
) -> None:
    """Check the intent and the loss gate for the platform (exit 3 as render would); with --crds, also
    check every rendered object as the API server would."""
    try:
        loaded = _load(intent_paths)
        name = pipeline.source_name(intent_paths)
        target = platform or loaded.intent.spec.platform
        rendering = _render(loaded, intent_paths, target, allow_loss, accept_loss, None)
        if crds is None:
            _err(f"{name}: intent is valid and renders on {target}")
            return
        from meshgen.validate import CRDCatalog, validate_objects

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
    source: Annotated[str, typer.Option("--from", help=f"The platform you are on ({', '.join(platform_names())}).", show_default=False)],
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
        with gc_paused():
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


class AnalyzeFormat(str, Enum):
    """Output format of ``meshgen analyze``."""

    text = "text"
    json = "json"
    sarif = "sarif"


class Threshold(str, Enum):
    """The least severity that makes ``meshgen analyze`` exit 1."""

    error = "error"
    warning = "warning"
    info = "info"


@app.command()
def analyze(
    intent_paths: IntentArgs,
    output: Annotated[
        AnalyzeFormat, typer.Option("--output", "-o", help="Output format on stdout: text, json or sarif (SARIF 2.1.0).")
    ] = AnalyzeFormat.text,
    failure_threshold: Annotated[
        Threshold, typer.Option("--failure-threshold", help="Exit 1 when a finding is at least this severe.")
    ] = Threshold.error,
    suppress: Annotated[
        Optional[list[str]],
        typer.Option(
            "--suppress",
            help="Ignore a code (MG103), or a code for one service (MG103=namespace/name); repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check the intent's whole call graph (timeouts, retries, authorization, routing, operations).

    Prints one line per finding, ``file:line:col: CODE severity: message``, and a summary line; codes
    are explained in docs/analyzers.md. Exit 1 when a finding reaches --failure-threshold.
    """
    from importlib.metadata import version

    from meshgen.analyze import Severity, parse_suppress
    from meshgen.analyze import analyze as run_analyzers
    from meshgen.analyze.formats import text, to_json, to_sarif

    try:
        wanted = parse_suppress(suppress or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--suppress") from None
    try:
        with gc_paused():
            analysis = run_analyzers(load(intent_paths), wanted)
    except MeshgenError as exc:
        raise _fail(exc) from None
    if output is AnalyzeFormat.json:
        sys.stdout.write(to_json(analysis))
    elif output is AnalyzeFormat.sarif:
        sys.stdout.write(to_sarif(analysis, version("meshgen")))
    else:
        sys.stdout.write(text(analysis))
    if analysis.at_least(Severity(failure_threshold.value)):
        raise typer.Exit(EXIT_INVALID)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the intent (for editors: # yaml-language-server: $schema=...)."""
    from meshgen.schema import schema_json

    sys.stdout.write(schema_json())


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="The new repository's folder (missing or empty).")],
    platform: Annotated[str, typer.Option("--platform", "-p", help=f"Target platform of the starter intent ({', '.join(platform_names())}).")] = DEFAULT_PLATFORM,
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

    from meshgen.platforms.registry import all_platforms

    console = Console(width=200)
    registered = all_platforms()
    for name, plat in registered.items():
        console.print(f"[bold]{name}[/bold]: {plat.description} (control plane in {plat.control_plane_namespace})")
    table = Table(title="Capability matrix (native / approximated / not-expressible)", show_lines=False)
    table.add_column("feature")
    table.add_column("intent")
    for name in registered:
        table.add_column(name)
    for row in matrix_rows():
        table.add_row(row["feature"], row["intent"], *(row[p] for p in registered))
    console.print(table)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main", "EXIT_INVALID", "EXIT_LOSS"]
