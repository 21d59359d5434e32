"""`bundler build`: the options, then bundler.pack.build, then the signature and the parts."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, get_args

import typer

from bundler.cli.options import Debug, FormatChoice, GpgChoice, MaybeSignWith, Storm, Zk, choices
from bundler.cli.steps import _print_split, _run, _split, _versions

if TYPE_CHECKING:
    from bundler.pack.build import BuildResult
    from bundler.progress import Progress

# Old spellings, still taken for one release, hidden from --help (bundler.cli.app warns).
RENAMED = {"--output-dir": "--out", "--keys": "--apache-keys", "--sign": "--sign-with"}


def build_command(
    storm: Storm = None,
    zk: Zk = None,
    cluster: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Cluster inventory (cluster.toml) to check and carry in the bundle.",
        ),
    ] = None,
    supervisor: Annotated[
        str | None,
        typer.Option(
            metavar="VERSION", help="supervisor version for the targets (default: recipes)."
        ),
    ] = None,
    mirror: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URL",
            help="Mirror base URL (holds storm/ and zookeeper/), tried first in order; repeatable.",
        ),
    ] = None,
    apache_keys: Annotated[
        list[Path] | None,
        typer.Option(
            metavar="FILE",
            help="Trusted KEYS file of the release signers, instead of fetching KEYS from "
            "apache.org; repeatable.",
        ),
    ] = None,
    gpg: Annotated[
        GpgChoice,
        typer.Option(
            metavar=choices(get_args(GpgChoice)),
            help="auto: check the releases' signatures when gpg is present; require; off.",
        ),
    ] = "auto",
    no_default_mirrors: Annotated[
        bool, typer.Option("--no-default-mirrors", help="Use only the --mirror URLs.")
    ] = False,
    index_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Python package index (simple API). With neither this nor --find-links, "
            "pip's own settings (pip.conf, PIP_INDEX_URL...) decide, else PyPI.",
        ),
    ] = None,
    find_links: Annotated[
        list[str] | None,
        typer.Option(
            metavar="DIR|URL",
            help="Folder or page of wheels, looked at before the index; repeatable.",
        ),
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="PEM file of the CAs the release mirrors' HTTPS certificates come from "
            "(default: REQUESTS_CA_BUNDLE or SSL_CERT_FILE, else the usual public CAs).",
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Download cache folder.")
    ] = None,
    out: Annotated[Path, typer.Option(metavar="DIR", help="Where the bundle is written.")] = Path(
        "bundles"
    ),
    jobs: Annotated[int, typer.Option(metavar="N", help="Parallel downloads.")] = 4,
    format: Annotated[
        FormatChoice,
        typer.Option(metavar=choices(get_args(FormatChoice)), help="Bundle archive format."),
    ] = "tar",
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
        typer.Option(
            metavar="FILE", help="A JDK/JRE .tar.gz to carry, for hosts without a suitable Java."
        ),
    ] = None,
    maven_mirror: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Maven repository storm-starter (the topology of `stormctl smoke`) is fetched "
            "from (default https://repo1.maven.org/maven2; none with --no-default-mirrors).",
        ),
    ] = None,
    no_smoke_topology: Annotated[
        bool,
        typer.Option(
            "--no-smoke-topology",
            help="Do not fetch storm-starter; the bundle carries no smoke topology.",
        ),
    ] = False,
    connect_timeout: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds to wait for a mirror to connect.")
    ] = 5.0,
    sign_with: MaybeSignWith = None,
    split: Annotated[
        str | None,
        typer.Option(
            metavar="SIZE", help="Also write the bundle in parts of at most this size (e.g. 4095M)."
        ),
    ] = None,
    read_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Seconds of silence after which a mirror counts as stalled."
        ),
    ] = 15.0,
    mirror_deadline: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Seconds one mirror gets for one file; then the next (0: none)."
        ),
    ] = 600.0,
    paranoid: Annotated[
        bool,
        typer.Option("--paranoid", help="Re-hash every cached file instead of trusting its stat."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    debug: Debug = False,
) -> None:
    """Download, verify and pack Storm, ZooKeeper and supervisord into one bundle."""
    from bundler.pack.build import BuildOptions, build
    from bundler.progress import Progress

    storm, zk = _run(debug, lambda: _versions(storm, zk, cluster))
    options = BuildOptions(
        storm=storm,
        zookeeper=zk,
        supervisor=supervisor,
        mirrors=list(mirror or []),
        apache_keys=list(apache_keys or []),
        gpg=gpg,
        default_mirrors=not no_default_mirrors,
        index_url=index_url,
        find_links=list(find_links or []),
        ca_bundle=ca_bundle,
        cache_dir=cache_dir,
        output_dir=out,
        jobs=jobs,
        pins=not no_pins,
        format=format,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        mirror_deadline=mirror_deadline,
        paranoid=paranoid,
        jdk=jdk,
        cluster=cluster,
        maven_mirror=maven_mirror,
        smoke_topology=not no_smoke_topology,
    )
    part_size = _run(debug, lambda: _before(sign_with, split))
    progress = Progress(quiet=quiet)
    result = _run(debug, lambda: build(options, progress))
    progress.info(f"bundle  {result.path} ({result.size} bytes, sha256 {result.sha256})")
    _after(result, sign_with, part_size, progress, debug)
    print(result.path)


def _before(sign_with: str | None, split: str | None) -> int | None:
    """Refused before anything is fetched: a part size that cannot work, a key gpg lacks.
    Returns the part size in bytes (None: no split)."""
    part_size = None
    if split is not None:
        from bundler.tools.parts import parse_size

        part_size = parse_size(split)
    if sign_with is not None:
        from bundler.tools import sign as bundlesign

        bundlesign.check_key(sign_with)
    return part_size


def _after(
    result: "BuildResult",
    sign_with: str | None,
    part_size: int | None,
    progress: "Progress",
    debug: bool,
) -> None:
    """The bundle's signature, then its parts (which carry the signature along)."""
    if sign_with is not None:
        from bundler.tools import sign as bundlesign

        asc = _run(debug, lambda: bundlesign.sign(result.path, sign_with))
        progress.info(f"signed  {asc}")
    if part_size is not None:
        _print_split(_run(debug, lambda: _split(result.path, part_size)), progress)
