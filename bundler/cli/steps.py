"""The CLI's shared steps: errors to one stderr line and an exit code, versions, split output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from bundler.errors import BundlerError, ExitCode, UsageError
from bundler.redact import redact

if TYPE_CHECKING:
    from bundler.progress import Progress

T = TypeVar("T")


def _run(debug: bool, action: Callable[[], T]) -> T:
    """Call the core; any failure becomes one line on stderr and its exit code."""
    try:
        return action()
    except BaseException as exc:
        if debug or isinstance(exc, SystemExit):
            raise
        _fail(exc)


def _fail(exc: BaseException) -> NoReturn:
    if isinstance(exc, BundlerError):
        print(redact(f"bundler: error: {exc}"), file=sys.stderr)
        raise SystemExit(int(exc.exit_code))
    if isinstance(exc, OSError) and exc.filename is not None:
        # A filesystem refusal the core did not word itself: still one line with the path.
        print(
            redact(f"bundler: error: {exc.filename}: {exc.strerror}; fix that path"),
            file=sys.stderr,
        )
        raise SystemExit(int(ExitCode.PREREQ))
    if isinstance(exc, KeyboardInterrupt):
        print("bundler: interrupted; nothing was written", file=sys.stderr)
        raise SystemExit(int(ExitCode.INTERRUPTED))
    print(
        redact(
            f"bundler: internal error: {type(exc).__name__}: {exc} "
            "(run again with --debug for details)"
        ),
        file=sys.stderr,
    )
    raise SystemExit(int(ExitCode.ERROR))


def _versions(storm: str | None, zk: str | None, cluster: Path | None) -> tuple[str, str]:
    """--storm and --zk, else the versions the inventory names."""
    if cluster is not None and (storm is None or zk is None):
        from bundler.recipes.inventory import load as load_inventory

        source = load_inventory(cluster)
        storm = storm or source.storm
        zk = zk or source.zookeeper
    if storm is None or zk is None:
        missing = "--storm" if storm is None else "--zk"
        where = " (or set it under [cluster] in the inventory)" if cluster else ""
        raise UsageError(f"{missing} is required{where}")
    return storm, zk


def _split(bundle: Path, size: int) -> Any:
    from bundler.tools.parts import split

    return split(bundle, size)


def _print_split(result: Any, progress: Progress) -> None:
    from bundler.tools.parts import FAT32_MAX

    if any(p.stat().st_size > FAT32_MAX for p in result.parts):
        progress.warn("parts of 4 GiB or more do not fit on FAT32 (at most 4095M a file)")
    for stale in result.removed:
        progress.info(f"removed {stale} (a part of the split this one replaces)")
    for part in result.parts:
        progress.info(f"part    {part}")
    carried = [p.name for p in result.parts] + [result.listing.name, result.script.name]
    signature = result.bundle.with_name(result.bundle.name + ".asc")
    if signature.is_file():
        carried.append(signature.name)
    progress.info(f"carry   {' '.join(carried)}")
    progress.info(f"join    sh {result.script}   or   bundler join {result.listing}")
    progress.info(f"        (either writes {result.bundle.name} and {result.bundle.name}.sha256)")
