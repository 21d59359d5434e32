"""The command line: parse, call one core function, print its result, map errors to exit codes.

Results go to stdout; progress, warnings and errors to stderr, one line per failure.

No `from __future__ import annotations` here: typer reads every command's annotations at each
start, and as strings they would be evaluated again each time (a fifth of `bundler --help`).
"""

import atexit
import gc
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bundler import __version__
from bundler.cli.entry import ABOUT, HELP
from bundler.cli.steps import _print_split, _run, _split, _versions
from bundler.errors import ExitCode

F = TypeVar("F", bound=Callable[..., Any])

# Each command imports the modules it needs inside its function: `bundler --help`, `recipes`
# and `verify` start without requests, tqdm or the build machinery (tests/test_cli_startup.py).

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich's help renderer takes longer to import than the rest of the CLI.
    rich_markup_mode=None,
    help=ABOUT,
)


def _command(name: str) -> Callable[[F], F]:
    """A command whose line in `bundler --help` is bundler.cli.entry.HELP's (printed there without
    typer); its own page keeps its docstring."""
    return app.command(name, short_help=HELP[name])


def _version(value: bool) -> None:
    if value:
        print(f"bundler {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    pass  # the group's one option acts in its callback


@_command("build")
def build_command(
    storm: Annotated[
        str | None,
        typer.Option("--storm", help="Storm version, e.g. 0.9.5 or 2.8.4 (default: inventory)."),
    ] = None,
    zk: Annotated[
        str | None,
        typer.Option("--zk", help="ZooKeeper version, e.g. 3.4.6 or 3.9.3 (default: inventory)."),
    ] = None,
    cluster: Annotated[
        Path | None,
        typer.Option(help="Cluster inventory (cluster.toml) to check and carry in the bundle."),
    ] = None,
    supervisor: Annotated[
        str | None, typer.Option(help="supervisor version for the targets (default: recipes).")
    ] = None,
    mirror: Annotated[
        list[str] | None,
        typer.Option(help="Mirror base URL (holds storm/ and zookeeper/); tried first, in order."),
    ] = None,
    keys: Annotated[
        list[Path] | None,
        typer.Option(help="Trusted KEYS file, instead of fetching KEYS from apache.org."),
    ] = None,
    gpg: Annotated[
        str, typer.Option(help="auto: verify when gpg is present; require; off.")
    ] = "auto",
    no_default_mirrors: Annotated[
        bool, typer.Option("--no-default-mirrors", help="Use only the --mirror URLs.")
    ] = False,
    index_url: Annotated[
        str | None,
        typer.Option(
            help="Python package index (simple API). With neither this nor --find-links, "
            "pip's own settings (pip.conf, PIP_INDEX_URL...) decide, else PyPI."
        ),
    ] = None,
    find_links: Annotated[
        list[str] | None, typer.Option(help="Folder or page of wheels, looked at before the index.")
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            help="PEM file of the CAs the release mirrors' HTTPS certificates come from "
            "(default: REQUESTS_CA_BUNDLE or SSL_CERT_FILE, else the usual public CAs)."
        ),
    ] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Download cache folder.")] = None,
    output_dir: Annotated[Path, typer.Option(help="Where the bundle is written.")] = Path(
        "bundles"
    ),
    jobs: Annotated[int, typer.Option(help="Parallel downloads.")] = 4,
    format: Annotated[str, typer.Option(help="Bundle archive format: tar or tar.gz.")] = "tar",
    no_pins: Annotated[
        bool,
        typer.Option(
            "--no-pins",
            help="Skip the recipes' third-party pinned hashes (Apache's checksums and signatures "
            "are still checked).",
        ),
    ] = False,
    jdk: Annotated[
        Path | None,
        typer.Option(help="A JDK/JRE .tar.gz to carry, for hosts without a suitable Java."),
    ] = None,
    connect_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for a mirror to connect.")
    ] = 5.0,
    sign: Annotated[
        str | None,
        typer.Option(help="Sign the bundle with this gpg key (writes BUNDLE.asc)."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(help="Also write the bundle in parts of at most this size (e.g. 4095M)."),
    ] = None,
    read_timeout: Annotated[
        float,
        typer.Option(help="Seconds of silence after which a mirror counts as stalled."),
    ] = 15.0,
    mirror_deadline: Annotated[
        float,
        typer.Option(help="Seconds one mirror gets for one file; then the next (0: none)."),
    ] = 600.0,
    paranoid: Annotated[
        bool,
        typer.Option("--paranoid", help="Re-hash every cached file instead of trusting its stat."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Download, verify and pack Storm, ZooKeeper and supervisord into one bundle."""
    from bundler.fetch.keys import GpgMode
    from bundler.pack.build import BuildOptions, build
    from bundler.progress import Progress

    if gpg not in ("auto", "require", "off"):
        raise typer.BadParameter(
            f"expected auto, require or off, found {gpg!r}", param_hint="--gpg"
        )
    if format not in ("tar", "tar.gz"):
        raise typer.BadParameter(f"expected tar or tar.gz, found {format!r}", param_hint="--format")
    gpg_mode: GpgMode = gpg  # type: ignore[assignment]
    storm, zk = _run(debug, lambda: _versions(storm, zk, cluster))
    options = BuildOptions(
        storm=storm,
        zookeeper=zk,
        supervisor=supervisor,
        mirrors=list(mirror or []),
        keys=list(keys or []),
        gpg=gpg_mode,
        default_mirrors=not no_default_mirrors,
        index_url=index_url,
        find_links=list(find_links or []),
        ca_bundle=ca_bundle,
        cache_dir=cache_dir,
        output_dir=output_dir,
        jobs=jobs,
        pins=not no_pins,
        format=format,  # type: ignore[arg-type]
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        mirror_deadline=mirror_deadline,
        paranoid=paranoid,
        jdk=jdk,
        cluster=cluster,
    )
    if split is not None:
        from bundler.tools.parts import parse_size

        part_size = _run(debug, lambda: parse_size(split))
    if sign is not None:
        from bundler.tools import sign as bundlesign

        _run(debug, lambda: bundlesign.check_key(sign))
    progress = Progress(quiet=quiet)
    result = _run(debug, lambda: build(options, progress))
    progress.info(f"bundle  {result.path} ({result.size} bytes, sha256 {result.sha256})")
    if sign is not None:
        asc = _run(debug, lambda: bundlesign.sign(result.path, sign))
        progress.info(f"signed  {asc}")
    if split is not None:
        _print_split(_run(debug, lambda: _split(result.path, part_size)), progress)
    print(result.path)


@_command("render")
def render_command(
    cluster: Annotated[Path, typer.Option(help="The cluster inventory (cluster.toml).")],
    host: Annotated[str, typer.Option(help="The inventory host whose files to show.")],
    storm: Annotated[
        str | None, typer.Option("--storm", help="Storm version (default: the inventory's).")
    ] = None,
    zk: Annotated[
        str | None, typer.Option("--zk", help="ZooKeeper version (default: the inventory's).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the files under this folder instead of printing.")
    ] = None,
    java_major: Annotated[int, typer.Option(help="The host's Java major version.")] = 17,
    java_home: Annotated[
        str | None,
        typer.Option(
            help="The host's JAVA_HOME (default /usr/lib/jvm/java-<major>-openjdk-amd64)."
        ),
    ] = None,
    memory_mb: Annotated[int, typer.Option(help="The host's memory in MB (sizes heaps).")] = 8192,
    python: Annotated[
        str, typer.Option(help="The Python that runs supervisord on the host.")
    ] = "/usr/bin/python3",
    launcher_python: Annotated[
        str | None,
        typer.Option(help="The Python for Storm's launcher (default python3, or python2.7)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
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


@_command("ports")
def ports_command(
    cluster: Annotated[Path, typer.Option(help="The cluster inventory (cluster.toml).")],
    host: Annotated[
        str | None, typer.Option(help="Only this inventory host (default: every host).")
    ] = None,
    output: Annotated[
        str, typer.Option("--format", help="table, json, nftables, firewalld or iptables.")
    ] = "table",
    storm: Annotated[
        str | None, typer.Option("--storm", help="Storm version (default: the inventory's).")
    ] = None,
    zk: Annotated[
        str | None, typer.Option("--zk", help="ZooKeeper version (default: the inventory's).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Every port each host of a cluster inventory listens on, with its role and the hosts
    that must reach it; with --format, firewall rules to paste on each host."""
    from bundler.tools.ports import check_format, host_ports, text

    _run(debug, lambda: check_format(output))
    hosts = _run(debug, lambda: host_ports(cluster, host, storm, zk))
    print(text(hosts, output), end="")


@_command("verify")
def verify_command(
    bundle: Annotated[Path, typer.Argument(help="A bundle .tar/.tar.gz, or its unpacked folder.")],
    keys: Annotated[
        Path | None,
        typer.Option(help="Also check BUNDLE.asc against the public key(s) in this file."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Re-check every file of a bundle against its manifest and SHA256SUMS."""
    from bundler.tools.verify import verify

    if keys is not None:
        from bundler.tools import sign as bundlesign

        signed = _run(debug, lambda: bundlesign.check(bundle, keys))
        print(f"{bundle}: good signature by {signed.signer} (key {signed.fingerprint})")
    report = _run(debug, lambda: verify(bundle))
    print(f"{bundle}: OK ({report.name}: {report.files} files, {report.bytes} bytes)")
    print(f"{bundle}: {report.sidecar}")


@_command("inspect")
def inspect_command(
    bundle: Annotated[Path, typer.Argument(help="A bundle .tar/.tar.gz, or its unpacked folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="The whole manifest as JSON.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Show a bundle's components, sources, sizes, hashes and how each was verified."""
    from bundler.tools.describe import read_provenance, text
    from bundler.tools.verify import read_manifest

    manifest = _run(debug, lambda: read_manifest(bundle))
    if as_json:
        print(json.dumps(manifest.to_json(), indent=2, sort_keys=True))
        return
    print(text(manifest, read_provenance(bundle)))
    if "sbom.cdx.json" in manifest.files:
        from bundler.pack import sbom

        print("\n".join(sbom.summary(_run(debug, lambda: sbom.read(bundle)))))


@_command("recipes")
def recipes_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Supported versions and what each needs (Java, Python)."""
    from bundler.recipes.recipes import SupervisorRecipe, load_all

    recipes = _run(False, load_all)
    sup = _run(False, SupervisorRecipe.load)
    data: dict[str, Any] = {}
    for project, recipe in recipes.items():
        lines: dict[str, Any] = {}
        for version in recipe.known:
            comp = recipe.resolve(version)
            f = comp.facts
            entry = lines.setdefault(
                comp.line,
                {"versions": [], "java_min": f.get("java_min")},
            )
            entry["versions"].append(version)
            entry["file"] = comp.artifact.file.replace(version, "{version}")
            for key in ("launcher_python", "nimbus_key", "server_line", "java_min"):
                if key in f:
                    entry[key] = f[key]
        data[project] = lines
    data["supervisor"] = {"default": sup.default, "target_pythons": list(sup.pythons)}
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    for project in ("storm", "zookeeper"):
        print(f"{recipes[project].display}:")
        for line, info in data[project].items():
            java = f"Java {info['java_min']}+"
            extra = (
                f"launcher Python {info['launcher_python']}, {info['nimbus_key']}"
                if project == "storm"
                else f"{info['server_line']}"
            )
            print(
                f"  {line:<5} {info['versions'][0]}..{info['versions'][-1]:<12} {java:<10} {extra}"
            )
    print(f"supervisor {sup.default} (default) for target Python {', '.join(sup.pythons)}")


@_command("sbom")
def sbom_command(
    bundle: Annotated[Path, typer.Argument(help="A bundle .tar/.tar.gz, or its unpacked folder.")],
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Print the bundle's SBOM (CycloneDX JSON), as carried inside it."""
    from bundler.pack import sbom

    sys.stdout.write(_run(debug, lambda: sbom.read(bundle)).decode("utf-8"))


@_command("sign")
def sign_command(
    bundle: Annotated[Path, typer.Argument(help="A bundle .tar or .tar.gz.")],
    key: Annotated[str, typer.Option(help="The gpg key to sign with (id, fingerprint, email).")],
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Sign a bundle with the operator's gpg key: writes BUNDLE.asc beside it."""
    from bundler.tools import sign as bundlesign

    print(_run(debug, lambda: bundlesign.sign(bundle, key)))


@_command("split")
def split_command(
    bundle: Annotated[Path, typer.Argument(help="A bundle .tar or .tar.gz.")],
    size: Annotated[str, typer.Option(help="Largest part, e.g. 4095M (FAT32), 700M, 1G.")],
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Write a bundle as NAME.tar.part-001... with NAME.parts and NAME.join.sh beside it."""
    from bundler.progress import Progress
    from bundler.tools.parts import parse_size

    part_size = _run(debug, lambda: parse_size(size))
    result = _run(debug, lambda: _split(bundle, part_size))
    _print_split(result, Progress())
    print(result.listing)


@_command("join")
def join_command(
    listing: Annotated[Path, typer.Argument(help="The NAME.parts file beside the parts.")],
    output: Annotated[
        Path | None, typer.Option(help="Where to write the bundle (default: beside the parts).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Check every part listed in NAME.parts, then rebuild the exact bundle."""
    from bundler.tools.parts import join

    result = _run(debug, lambda: join(listing, output))
    state = "already there, unchanged" if result.already else f"joined from {result.parts} parts"
    print(f"{result.bundle}: {state}, sha256 {result.sha256}", file=sys.stderr)
    print(result.bundle)


@_command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="The bundle installed now (.tar, .tar.gz, folder).")],
    new: Annotated[Path, typer.Argument(help="The bundle to compare it with.")],
    cluster: Annotated[
        Path | None,
        typer.Option(help="Inventory whose hosts' config keys to compare (default: cluster.json)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Versions, artifacts, wheels and each host's config keys that differ; exit 0 either way."""
    from bundler.tools.diff import as_json as diff_json
    from bundler.tools.diff import diff
    from bundler.tools.diff import text as diff_text

    report = _run(debug, lambda: diff(old, new, cluster))
    print(diff_json(report) if as_json else diff_text(report), end="")


# typer vendors its own click and exports only BadParameter; its base is click's UsageError.
_CLICK_USAGE_ERROR: type[Exception] = next(
    cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError"
)


@_command("ansible")
def ansible_command(
    cluster: Annotated[Path, typer.Option(help="The cluster inventory the bundle was built with.")],
    bundle: Annotated[Path, typer.Option(help="The bundle .tar (its .sha256 beside it).")],
    out: Annotated[Path, typer.Option(help="A new (or empty) folder for the Ansible project.")],
    bundle_src: Annotated[
        str | None,
        typer.Option(
            "--bundle-src",
            help="The bundle's path as the playbooks see it (default: relative to --out).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Write an Ansible project (inventory, site.yml, upgrade.yml, rollback.yml) for a bundle."""
    from bundler.tools.ansible import write_project

    written = _run(debug, lambda: write_project(cluster, bundle, out, bundle_src))
    for path in written:
        print(path)


@_command("rehearse")
def rehearse_command(
    bundle: Annotated[Path, typer.Argument(help="The sealed bundle .tar, as it will be carried.")],
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="Rehearse only this inventory host; repeatable."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")] = False,
) -> None:
    """Install a bundle on throwaway namespaced hosts (root, Linux), show health, remove it."""
    from bundler.tools.rehearse import rehearse, text

    report = _run(debug, lambda: rehearse(bundle, list(host or [])))
    print(text(report), end="")
    raise SystemExit(report.exit_code)


def main() -> None:
    # Registered first, so it runs last: every file is written, closed and synced by then, and
    # the interpreter's final collection over every object (0.1 s after a build) is skipped.
    atexit.register(gc.freeze)
    if len(sys.argv) == 1:
        sys.argv.append("--help")
    try:
        result = app(standalone_mode=False)
    except _CLICK_USAGE_ERROR as exc:
        # One line, like every other failure, instead of click's boxed panel.
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = exc.format_message()  # type: ignore[attr-defined]
        print(f"bundler: usage error: {message}{where}", file=sys.stderr)
        raise SystemExit(int(ExitCode.USAGE)) from None
    except (KeyboardInterrupt, typer.Abort):
        print("bundler: interrupted; nothing was written", file=sys.stderr)
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    raise SystemExit(result if isinstance(result, int) else 0)
