"""Run `bundler ARGS` under cProfile in every thread (the download, hash and tar-check
threads as well as the main one) and write the merged stats to the file named first:

    python threadprof.py STATS_FILE build --storm ...

cProfile alone sees only the main thread, which in a build mostly waits for the others.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
from typing import Any

profiles: list[cProfile.Profile] = []
_run = threading.Thread.run


def _profiled_run(self: threading.Thread) -> None:
    profile = cProfile.Profile()
    profiles.append(profile)
    profile.enable()
    try:
        _run(self)
    finally:
        profile.disable()


def main() -> int:
    out = sys.argv[1]
    sys.argv = ["bundler", *sys.argv[2:]]
    threading.Thread.run = _profiled_run  # type: ignore[method-assign]
    main_profile = cProfile.Profile()
    profiles.append(main_profile)
    code: Any = 0
    main_profile.enable()
    try:
        from bundler.cli.app import main as cli

        cli()
    except SystemExit as exc:
        code = exc.code
    finally:
        main_profile.disable()
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    stats.dump_stats(out)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
