"""`bundler ports`: every port each inventory host opens, who reaches it, firewall rules."""

from typing import Annotated

import typer

from bundler.cli.options import Cluster, Debug, Storm, Zk, choices
from bundler.cli.steps import _run
from bundler.onhost.operate.firewall import FORMATS


def ports_command(
    cluster: Cluster,
    host: Annotated[
        str | None,
        typer.Option(metavar="HOST", help="Only this inventory host (default: every host)."),
    ] = None,
    output: Annotated[
        str,
        typer.Option(
            "--format", metavar=choices(FORMATS), help="A table, JSON, or firewall rules."
        ),
    ] = "table",
    storm: Storm = None,
    zk: Zk = None,
    debug: Debug = False,
) -> None:
    """Every port each host of a cluster inventory listens on, with its role and the hosts
    that must reach it; with --format, firewall rules to paste on each host."""
    from bundler.tools.ports import check_format, host_ports, text

    _run(debug, lambda: check_format(output))
    hosts = _run(debug, lambda: host_ports(cluster, host, storm, zk))
    print(text(hosts, output), end="")
