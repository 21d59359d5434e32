#!/bin/sh
# make demo: serve the local Apache-shaped test mirror on 127.0.0.1, build the headline bundle
# (Storm 0.9.5 + ZooKeeper 3.4.6) from it, then verify and inspect the result.
#
# The mirror holds stand-ins (see README): --no-pins because the recipes pin the sha256 of the
# real zookeeper-3.4.6.tar.gz, which the stand-in is not; Apache-style checksums and the
# signature (throwaway test key, passed with --keys) are checked as for a real mirror.

set -eu

PY=${PY:-.venv/bin/python}
MIRROR=${MIRROR:-build/test-mirror}
WHEELHOUSE=${WHEELHOUSE:-build/wheelhouse}
OUT=${OUT:-bundles}

say() {
    printf '\n== %s\n' "$*" >&2
}

main() {
    workdir=$(mktemp -d)
    server_pid=
    trap 'cleanup' EXIT INT TERM
    "$PY" scripts/mirror_server.py --root "$MIRROR" --wheelhouse "$WHEELHOUSE" \
        --port-file "$workdir/port" >/dev/null &
    server_pid=$!
    tries=0
    while [ ! -s "$workdir/port" ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ]; then
            printf 'demo: the test mirror did not start\n' >&2
            return 1
        fi
        sleep 0.1
    done
    url="http://127.0.0.1:$(cat "$workdir/port")"
    say "building from the local mirror $url (cache in $workdir/cache)"
    bundle=$("$PY" -m bundler build --storm 0.9.5 --zk 3.4.6 \
        --mirror "$url" --no-default-mirrors --keys "$MIRROR/keys/KEYS" --no-pins \
        --index-url "$url/simple" --cache-dir "$workdir/cache" --output-dir "$OUT")
    say "second build, warm cache: no downloads, same bytes"
    "$PY" -m bundler build --storm 0.9.5 --zk 3.4.6 \
        --mirror "$url" --no-default-mirrors --keys "$MIRROR/keys/KEYS" --no-pins \
        --index-url "$url/simple" --cache-dir "$workdir/cache" --output-dir "$OUT" --quiet >/dev/null
    (cd "$OUT" && sha256sum -c "$(basename "$bundle").sha256")
    say "bundler verify $bundle"
    "$PY" -m bundler verify "$bundle"
    say "bundler inspect $bundle"
    "$PY" -m bundler inspect "$bundle"
    say "the bundle's own check, as on the air-gapped host"
    tar -xf "$bundle" -C "$workdir"
    top=$(basename "$bundle" .tar)
    sh "$workdir/$top/install.sh" --check
    printf '\n%s\n' "$bundle"
}

cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}

main "$@"
