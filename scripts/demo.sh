#!/bin/sh
# make demo: serve the local Apache-shaped test mirror on 127.0.0.1, build the headline bundle
# (Storm 0.9.5 + ZooKeeper 3.4.6) from it, verify and inspect it, then install it on a "host"
# with no network (a fresh network namespace with only lo), show the services and their
# health, and remove everything again. As root, then the same for Storm 2.6.4 (Apache's own
# Nimbus, supervisor and workers in the test mirror) with `install.sh --smoke`: an example
# topology from the bundle runs, its tuples are acked, and it is killed.
#
# The mirror holds stand-ins (see README): --no-pins because the recipes pin the sha256 of the
# real zookeeper-3.4.6.tar.gz, which the stand-in is not; Apache-style checksums and the
# signature (throwaway test key, passed with --apache-keys) are checked as for a real mirror.

set -eu

PY=${PY:-.venv/bin/python}
MIRROR=${MIRROR:-build/test-mirror}
WHEELHOUSE=${WHEELHOUSE:-build/wheelhouse}
OUT=${OUT:-bundles}
# The demo's own service user: never the machine-wide `storm` another install may be using.
DEMO_USER=${DEMO_USER:-stormdemo}

say() {
    printf '\n== %s\n' "$*" >&2
}

main() {
    workdir=$(mktemp -d)
    server_pid=
    trap 'cleanup' EXIT INT TERM
    "$PY" -m tests.support.mirror_server --root "$MIRROR" --wheelhouse "$WHEELHOUSE" \
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
        --mirror "$url" --no-default-mirrors --apache-keys "$MIRROR/keys/KEYS" --no-pins \
        --index-url "$url/simple" --cache-dir "$workdir/cache" --out "$OUT")
    say "second build, warm cache: no downloads, same bytes"
    "$PY" -m bundler build --storm 0.9.5 --zk 3.4.6 \
        --mirror "$url" --no-default-mirrors --apache-keys "$MIRROR/keys/KEYS" --no-pins \
        --index-url "$url/simple" --cache-dir "$workdir/cache" --out "$OUT" --quiet >/dev/null
    (cd "$OUT" && sha256sum -c "$(basename "$bundle").sha256")
    say "bundler verify $bundle"
    "$PY" -m bundler verify "$bundle"
    say "bundler inspect $bundle"
    "$PY" -m bundler inspect "$bundle"
    tar -xf "$bundle" -C "$workdir"
    top=$(basename "$bundle" .tar)
    # The service user must be able to reach the prefix.
    chmod 755 "$workdir"
    if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1; then
        say "install on a host with no network: unshare -n, only lo up"
        # The inner script takes its values as "$1".."$4"; single quotes on purpose.
        # shellcheck disable=SC2016
        unshare -n sh -c '
            ip link set lo up || exit 1
            sh "$1/install.sh" --role all --prefix "$2" --user "$4" || exit $?
            printf "\n== stormctl status\n" >&2
            "$2/bin/stormctl" status
            printf "\n== ZooKeeper: srvr\n" >&2
            "$3" -c "import socket; s = socket.create_connection((\"127.0.0.1\", 2181)); s.sendall(b\"srvr\"); print(s.recv(4096).decode())"
            printf "\n== remove it all again: install.sh --uninstall --purge\n" >&2
            sh "$1/install.sh" --uninstall --purge --prefix "$2"
        ' sh "$workdir/$top" "$workdir/prefix" "$PY" "$DEMO_USER"
        smoke "$url"
    else
        say "not root: installing into $workdir/prefix on this host's own network"
        sh "$workdir/$top/install.sh" --role all --prefix "$workdir/prefix"
        "$workdir/prefix/bin/stormctl" status
        sh "$workdir/$top/install.sh" --uninstall --purge --prefix "$workdir/prefix"
    fi
    printf '\n%s\n' "$bundle"
}

# Storm 2.6.4 with its example topology (from the mirror's Maven repository), installed with
# --smoke on a second host with no network, and removed again.
smoke() {
    say "Storm 2.6.4, Apache's own daemons: build with the example topology"
    smoke_bundle=$("$PY" -m bundler build --storm 2.6.4 --zk 3.8.4 \
        --mirror "$1" --no-default-mirrors --apache-keys "$MIRROR/keys/KEYS" --no-pins \
        --index-url "$1/simple" --maven-mirror "$1/maven2" --cache-dir "$workdir/cache" \
        --out "$workdir/smoke-out" --quiet)
    tar -xf "$smoke_bundle" -C "$workdir"
    say "install.sh --smoke on a host with no network"
    # shellcheck disable=SC2016
    unshare -n sh -c '
        ip link set lo up || exit 1
        code=0
        sh "$1/install.sh" --role all --prefix "$2" --user "$3" --smoke || code=$?
        printf "\n== remove it all again: install.sh --uninstall --purge\n" >&2
        sh "$1/install.sh" --uninstall --purge --prefix "$2" || exit $?
        exit "$code"
    ' sh "$workdir/$(basename "$smoke_bundle" .tar)" "$workdir/smoke-prefix" "$DEMO_USER"
}

cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}

main "$@"
