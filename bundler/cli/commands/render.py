"""`bundler render`: the config files one inventory host gets, without building."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from bundler.cli.options import Cluster, Debug, Storm, Zk
from bundler.cli.steps import _run


def render_command(
    cluster: Cluster,
    host: Annotated[
        str, typer.Option(metavar="HOST", help="The inventory host whose files to show.")
    ],
    storm: Storm = None,
    zk: Zk = None,
    out: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Write the files under this folder instead of printing."),
    ] = None,
    java_major: Annotated[
        int, typer.Option(metavar="N", help="The host's Java major version.")
    ] = 17,
    java_home: Annotated[
        str | None,
        typer.Option(
            metavar="DIR",
            help="The host's JAVA_HOME (default /usr/lib/jvm/java-N-openjdk-amd64).",
        ),
    ] = None,
    memory_mb: Annotated[
        int, typer.Option(metavar="MB", help="The host's memory in MB (sizes heaps).")
    ] = 8192,
    python: Annotated[
        str, typer.Option(metavar="PATH", help="The Python that runs supervisord on the host.")
    ] = "/usr/bin/python3",
    launcher_python: Annotated[
        str | None,
        typer.Option(
            metavar="PATH", help="The Python for Storm's launcher (default python3, or python2.7)."
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """Show the exact config files one host of a cluster inventory gets, without building."""
    from bundler.tools.render import HostFacts
    from bundler.tools.render import render as render_host
    from bundler.tools.render import text as render_text
    from bundler.tools.render import write as render_write

    facts = HostFacts(
        java_major=java_major,
        java_home=java_home,
        memory_mb=memory_mb,
        python=python,
        launcher_python=launcher_python,
    )
    result = _run(debug, lambda: render_host(cluster, host, storm, zk, facts))
    for warning in result.warnings:
        print(f"bundler: warning: {warning}", file=sys.stderr)
    if out is None:
        print(render_text(result), end="")
        return
    written = _run(debug, lambda: render_write(result, out))
    print("\n".join(result.header()))
    for rel in written:
        print(out / rel)
