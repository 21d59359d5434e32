#!/bin/sh
# Installer shipped at the top of every bundle: turns this host into a running Storm node.
#
# This script only bootstraps: it has the installer's package read the command line (after
# checking that package against SHA256SUMS; --help, --version and usage errors are answered
# there, before the bundle is read), finds a Python the bundle has packages for, checks every
# file of the bundle against SHA256SUMS, and then runs the installer package (onhost/) with
# the arguments untouched. `./install.sh --help` lists them.
#
# Exit codes: 0 ok, 1 error, 2 usage, 3 bundle integrity failure, 4 prerequisites missing,
# 5 services did not become healthy.

set -u

EXIT_ERROR=1
EXIT_INTEGRITY=3
EXIT_PREREQ=4

say() { printf '%s\n' "install.sh: $*" >&2; }

err() { say "error: $*"; }

# The folder this script lives in, without relying on readlink -f (not POSIX).
bundle_dir() {
    case "$0" in
        */*) dir=${0%/*} ;;
        *) dir=. ;;
    esac
    (cd "$dir" && pwd -P)
}

python_version() {
    "$1" -E -S -c 'import sys; sys.stdout.write("%d.%d\n" % sys.version_info[:2])' 2>/dev/null
}

# The Python versions the bundle has packages for, oldest first.
bundle_pythons() {
    for lock in "$1"/python/locks/py*.txt; do
        if [ -f "$lock" ]; then
            version=${lock##*/py}
            printf '%s\n' "${version%.txt}"
        fi
    done | sort -t . -k 1,1n -k 2,2n
}

python_fix() {
    say "the bundle has packages for Python $(printf '%s\n' "$1" | tr '\n' ' ' | sed 's/ $//')"
    say "fix: install one of them (Debian/Ubuntu: apt-get install python3-minimal;" \
        "RHEL/Rocky: dnf install python3) or pass --python /path/to/python"
}

# The value of --python among the arguments (the last one given), or nothing.
python_flag() {
    flag=''
    while [ $# -gt 0 ]; do
        case "$1" in
            --python=*) flag=${1#--python=} ;;
            --python) flag=${2-} ;;
        esac
        shift
    done
    printf '%s' "$flag"
}

# Prints the interpreter to run: --python's value when given (the installer checks it
# further), else the newest Python on PATH the bundle has packages for.
find_python() {
    wanted=$(bundle_pythons "$1")
    shift
    if [ -z "$wanted" ]; then
        err "the bundle has no python/locks/py*.txt; unpack the whole bundle again"
        return "$EXIT_INTEGRITY"
    fi
    given=$(python_flag "$@")
    if [ -n "$given" ]; then
        if ! version=$(python_version "$given") || [ -z "$version" ]; then
            err "--python $given does not run; expected a Python interpreter"
            python_fix "$wanted"
            return "$EXIT_PREREQ"
        fi
        printf '%s\n' "$given"
        return 0
    fi
    best='' best_rank=0 seen=''
    for name in python3 python python2 python3.13 python3.12 python3.11 python3.10 python3.9 \
        python3.8 python3.7 python3.6 python2.7; do
        path=$(command -v "$name" 2>/dev/null) || continue
        case "$path" in /*) ;; *) continue ;; esac
        version=$(python_version "$path") || continue
        [ -n "$version" ] || continue
        seen="$seen $path ($version)"
        if printf '%s\n' "$wanted" | grep -Fqx "$version"; then
            rank=$((${version%%.*} * 1000 + ${version#*.}))
            if [ "$rank" -gt "$best_rank" ]; then
                best=$path best_rank=$rank
            fi
        fi
    done
    if [ -z "$best" ]; then
        if [ -n "$seen" ]; then
            err "no Python this bundle has packages for; found:$seen"
        else
            err "no Python found on PATH ($PATH)"
        fi
        python_fix "$wanted"
        return "$EXIT_PREREQ"
    fi
    printf '%s\n' "$best"
}

# A Python for reading the command line: --python's value, else the first of python3, python,
# python2 on PATH that the installer runs on. The newest one the bundle has packages for is
# chosen later (find_python asks every interpreter on PATH: seconds on some hosts).
args_python() {
    given=$(python_flag "$@")
    for candidate in "$given" python3 python python2; do
        [ -n "$candidate" ] || continue
        path=$(command -v "$candidate" 2>/dev/null) || continue
        case $(python_version "$path") in
            2.7 | 3.[6-9] | 3.[1-9][0-9]) printf '%s\n' "$path" && return 0 ;;
        esac
    done
    return 1
}

# The installer's package and bundle.json against their lines of SHA256SUMS: what reads the
# command line is checked before it runs; the whole bundle is checked after.
verify_package() {
    if [ ! -f "$1/SHA256SUMS" ]; then
        return 0 # verify_bundle says what is missing
    fi
    if ! lines=$(grep -E '^[0-9a-f]{64}  (onhost/[^/]+(/[^/]+)*|bundle\.json)$' "$1/SHA256SUMS"); then
        return 0
    fi
    if command -v sha256sum >/dev/null 2>&1; then
        report=$(cd "$1" && printf '%s\n' "$lines" | sha256sum -c - 2>&1) && return 0
        printf '%s\n' "$report" | grep -v ': OK$' >&2
    elif (cd "$1" && printf '%s\n' "$lines" | "$2" -E -S -B onhost/sha256check.py /dev/stdin); then
        return 0
    fi
    err "bundle files do not match SHA256SUMS (tampered or truncated); copy the bundle again and check it with its .sha256"
    return "$EXIT_INTEGRITY"
}

# --help, --version and usage errors, answered before the bundle is read. Returns 0 when the
# installer should go on; otherwise the answer is shown and its exit code returned (0 for an
# answer, 2 for a bad command line) with ANSWERED=1.
read_args() {
    root=$1
    shift
    ANSWERED=0
    # No Python the installer runs on: find_python explains, after the whole check.
    python=$(args_python "$@") || return 0
    verify_package "$root" "$python" || {
        ANSWERED=1
        return "$EXIT_INTEGRITY"
    }
    code=0
    answer=$(cd "$root" && "$python" -E -S -B -m onhost.argsfirst --bundle-dir "$root" "$@") ||
        code=$?
    if [ "$code" -ne 0 ] || [ -n "$answer" ]; then
        ANSWERED=1
        [ -z "$answer" ] || printf '%s\n' "$answer"
    fi
    return "$code"
}

# Files present but not listed in SHA256SUMS: a bundle is exactly what its sums say.
extra_files() {
    (cd "$1" && find . \( -type f -o -type l \) -print) | sed 's|^\./||' |
        awk 'NR == FNR { sub(/^[0-9a-f]+  /, ""); listed[$0] = 1; next }
             $0 != "SHA256SUMS" && !($0 in listed) { print }' "$1/SHA256SUMS" -
}

verify_bundle() {
    root=$1
    python=$2
    damaged="bundle files do not match SHA256SUMS (tampered or truncated); copy the bundle again and check it with its .sha256"
    if [ ! -f "$root/SHA256SUMS" ] || [ ! -f "$root/bundle.json" ]; then
        err "expected SHA256SUMS and bundle.json in $root, found neither; unpack the whole bundle again"
        return "$EXIT_INTEGRITY"
    fi
    if command -v sha256sum >/dev/null 2>&1; then
        # Plain -c: busybox and old coreutils know no --quiet/--strict.
        if ! report=$(cd "$root" && sha256sum -c SHA256SUMS 2>&1); then
            printf '%s\n' "$report" | grep -v ': OK$' >&2
            err "$damaged"
            return "$EXIT_INTEGRITY"
        fi
    elif ! (cd "$root" && "$python" -E -S -B onhost/sha256check.py SHA256SUMS); then
        err "$damaged"
        return "$EXIT_INTEGRITY"
    fi
    extra=$(extra_files "$root")
    if [ -n "$extra" ]; then
        printf '%s\n' "$extra" | sed 's/^/  not in SHA256SUMS: /' >&2
        err "the bundle folder holds files its SHA256SUMS does not list; unpack the bundle again into an empty folder"
        return "$EXIT_INTEGRITY"
    fi
    say "bundle verified: every file matches SHA256SUMS"
}

main() {
    for cmd in find sed awk grep sort tr; do
        if ! command -v "$cmd" >/dev/null 2>&1; then
            err "need '$cmd' (command not found); install it (it is part of every POSIX system's base tools)"
            return "$EXIT_PREREQ"
        fi
    done
    root=$(bundle_dir) || {
        err "cannot find the bundle folder"
        return "$EXIT_ERROR"
    }
    code=0
    read_args "$root" "$@" || code=$?
    if [ "$ANSWERED" = 1 ]; then
        return "$code"
    fi
    python=$(find_python "$root" "$@") || return $?
    verify_bundle "$root" "$python" || return $?
    # -E -S: no PYTHON* variables, user site or .pth files from this host steer the installer;
    # -B: the verified bundle stays exactly as it was (no __pycache__). -m from the bundle's
    # folder, which holds only what SHA256SUMS lists: no module there shadows the stdlib.
    cd "$root" || return "$EXIT_ERROR"
    exec "$python" -E -S -B -m onhost --bundle-dir "$root" "$@"
}

main "$@" || exit $?
