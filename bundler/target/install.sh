#!/bin/sh
# Installer shipped inside every bundle. This release of the bundle format checks the bundle
# (every file against SHA256SUMS) and the host's prerequisites; laying out and starting the
# services comes with the installer proper.
#
# Exit codes: 0 ok, 1 error, 2 usage, 3 bundle integrity failure, 4 prerequisites missing.

set -u

EXIT_OK=0
EXIT_ERROR=1
EXIT_USAGE=2
EXIT_INTEGRITY=3

say() {
    printf '%s\n' "install.sh: $*" >&2
}

err() {
    say "error: $*"
}

usage() {
    cat <<'USAGE'
usage: ./install.sh [--check] [--help]

  --check   verify every file of this bundle against SHA256SUMS and report the bundle's
            contents; changes nothing on this host
  --help    this text

Exit codes: 0 ok, 1 error, 2 usage, 3 bundle integrity failure.
USAGE
}

bundle_dir() {
    # The folder this script lives in, without relying on readlink -f (not POSIX).
    case "$0" in
        */*) dir=${0%/*} ;;
        *) dir=. ;;
    esac
    (cd "$dir" && pwd -P)
}

find_python() {
    for candidate in python3 python python2; do
        if command -v "$candidate" >/dev/null 2>&1; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

verify_bundle() {
    root=$1
    if [ ! -f "$root/SHA256SUMS" ] || [ ! -f "$root/bundle.json" ]; then
        err "expected SHA256SUMS and bundle.json in $root, found neither; unpack the whole bundle again"
        return "$EXIT_INTEGRITY"
    fi
    if command -v sha256sum >/dev/null 2>&1; then
        # Plain -c: busybox and old coreutils know no --quiet/--strict.
        if ! report=$(cd "$root" && sha256sum -c SHA256SUMS 2>&1); then
            printf '%s\n' "$report" | grep -v ': OK$' >&2
            err "bundle files do not match SHA256SUMS (tampered or truncated); copy the bundle again and check it with its .sha256"
            return "$EXIT_INTEGRITY"
        fi
    elif python=$(find_python); then
        if ! (cd "$root" && "$python" target/sha256check.py SHA256SUMS); then
            err "bundle files do not match SHA256SUMS (tampered or truncated); copy the bundle again and check it with its .sha256"
            return "$EXIT_INTEGRITY"
        fi
    else
        err "need sha256sum or a python to check the bundle, found neither; install coreutils or python"
        return 4
    fi
    say "bundle verified: every file matches SHA256SUMS"
    return "$EXIT_OK"
}

main() {
    check=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --check) check=1 ;;
            -h | --help)
                usage
                return "$EXIT_OK"
                ;;
            *)
                err "unknown option '$1'; expected --check or --help"
                usage >&2
                return "$EXIT_USAGE"
                ;;
        esac
        shift
    done
    root=$(bundle_dir) || {
        err "cannot find the bundle folder"
        return "$EXIT_ERROR"
    }
    verify_bundle "$root" || return $?
    if [ "$check" -eq 0 ]; then
        say "this bundle's installer only checks the bundle; run with --check"
    fi
    return "$EXIT_OK"
}

main "$@" || exit $?
