#!/bin/sh
# Installer shipped at the top of every bundle: turns this host into a running Storm node.
#
# This part parses and validates the command line, finds a Python the bundle has packages
# for, and checks every file of the bundle against SHA256SUMS before anything on the host is
# touched. Then it hands over to target/install.py (preflight, layout, configs, start, health).
#
# Exit codes: 0 ok, 1 error, 2 usage, 3 bundle integrity failure, 4 prerequisites missing,
# 5 services did not become healthy.

set -u

EXIT_OK=0
EXIT_ERROR=1
EXIT_USAGE=2
EXIT_INTEGRITY=3
EXIT_PREREQ=4

ROLES="zookeeper nimbus supervisor ui logviewer drpc all"

say() {
    printf '%s\n' "install.sh: $*" >&2
}

warn() {
    say "warning: $*"
}

err() {
    say "error: $*"
}

usage() {
    cat <<'USAGE'
usage: ./install.sh --role ROLE[,ROLE...] [--prefix DIR] [--user NAME]
                    [--zk-servers H1,H2,...] [--zk-id N] [--nimbus-host H[,H...]]
                    [--ui-bind ADDR[:PORT]] [--web-password-file FILE]
                    [--init auto|systemd|none] [--no-start] [--dry-run]
                    [--python PATH] [--launcher-python PATH] [--timeout SECONDS]
                    [--peer-timeout SECONDS]
       ./install.sh [--host NAME] [other options]     with a bundle built with --cluster
       ./install.sh --check [--role ...] [--host NAME]
       ./install.sh --uninstall [--purge] [--prefix DIR] [--host NAME] [--dry-run]

  --host NAME             this host's name in the bundle's cluster inventory (default: the
                          inventory host whose name is this hostname, or whose address is
                          one of this host's); its roles and settings come from there, and
                          the flags below override them
  --role ROLE,...         zookeeper, nimbus, supervisor, ui, logviewer, drpc, or a preset:
                          alone, `nimbus` is a Nimbus host (zookeeper when this host is one
                          of --zk-servers, nimbus, ui, supervisor), `supervisor` a worker
                          host, `all` a single-node cluster; a list names daemons exactly
  --prefix DIR            where everything goes (default /opt/storm as root, else ~/storm)
  --user NAME             service user the daemons run as (default storm, created when
                          missing; root only)
  --zk-servers H1,H2,...  the ZooKeeper ensemble in id order (default this host, 127.0.0.1)
  --zk-id N               this host's ZooKeeper id (default: its place in --zk-servers)
  --nimbus-host H,...     the Nimbus host(s) (default this host, 127.0.0.1)
  --ui-bind ADDR[:PORT]   address of supervisord's web interface (default 127.0.0.1:9001)
  --web-password-file F   its password (default: a random one, kept in PREFIX/etc/web-password)
  --init MODE             auto (systemd when it runs this host), systemd or none
  --no-start              install and configure, start nothing
  --dry-run               print every change that would be made, make none
  --check                 verify the bundle and this host's prerequisites, change nothing
  --uninstall [--purge]   stop and remove what was installed; --purge also removes data,
                          logs and the service user the installer created
  --python PATH           the Python that runs supervisord (default: the newest one found
                          that the bundle has packages for)
  --launcher-python PATH  the Python that runs Storm's launcher (default: found on PATH)
  --timeout SECONDS       how long to wait for the services to become healthy (default 180)
  --peer-timeout SECONDS  how long to wait for what this host needs from the others: a
                          ZooKeeper quorum, and Nimbus on a host without it (default 300;
                          0: report what is missing and do not wait)
  --help                  this text

Exit codes: 0 ok, 1 error, 2 usage, 3 bundle integrity failure, 4 prerequisites missing,
5 services did not become healthy.
USAGE
}

usage_error() {
    err "$*; see --help"
    return "$EXIT_USAGE"
}

need_cmd() {
    if ! command -v "$1" >/dev/null 2>&1; then
        err "need '$1' (command not found); install it (it is part of every POSIX system's base tools)"
        return "$EXIT_PREREQ"
    fi
}

bundle_dir() {
    # The folder this script lives in, without relying on readlink -f (not POSIX).
    case "$0" in
        */*) dir=${0%/*} ;;
        *) dir=. ;;
    esac
    (cd "$dir" && pwd -P)
}

# --- command line ---

is_host_list() {
    # Host names and IPv4 addresses, comma separated, no empty entries.
    case "$1" in
        "" | ,* | *, | *,,* | *[!A-Za-z0-9.,_-]*) return 1 ;;
    esac
    return 0
}

is_uint() {
    case "$1" in
        "" | *[!0-9]*) return 1 ;;
    esac
    return 0
}

check_roles() {
    case "$1" in
        "" | ,* | *, | *,,*) return 1 ;;
    esac
    rest=$1
    while [ -n "$rest" ]; do
        role=${rest%%,*}
        case "$rest" in
            *,*) rest=${rest#*,} ;;
            *) rest= ;;
        esac
        found=0
        for known in $ROLES; do
            if [ "$role" = "$known" ]; then
                found=1
            fi
        done
        if [ "$found" -eq 0 ]; then
            bad_role=$role
            return 1
        fi
    done
    return 0
}

# A bundle built with --cluster carries its inventory beside bundle.json.
has_inventory() {
    dir=$(bundle_dir) || return 1
    [ -f "$dir/cluster.json" ]
}

# Sets opt_* variables; the caller passes the original arguments on to install.py.
parse_args() {
    opt_role='' opt_zk_servers='' opt_zk_id='' opt_python='' opt_host=''
    opt_dry_run=0 opt_check=0 opt_uninstall=0 opt_purge=0 opt_help=0
    install_flags=''
    while [ $# -gt 0 ]; do
        arg=$1
        value=
        has_value=0
        case "$arg" in
            --*=*)
                value=${arg#*=}
                arg=${arg%%=*}
                has_value=1
                ;;
        esac
        case "$arg" in
            --role | --prefix | --user | --zk-servers | --zk-id | --nimbus-host | --ui-bind | \
                --web-password-file | --init | --python | --launcher-python | --timeout | \
                --host | --peer-timeout)
                if [ "$has_value" -eq 0 ]; then
                    if [ $# -lt 2 ]; then
                        usage_error "$arg needs a value"
                        return
                    fi
                    value=$2
                    shift
                fi
                ;;
            --no-start | --dry-run | --check | --uninstall | --purge | --help | -h)
                if [ "$has_value" -eq 1 ]; then
                    usage_error "$arg takes no value"
                    return
                fi
                ;;
            *)
                usage_error "unknown option '$arg'"
                return
                ;;
        esac
        case "$arg" in
            --role)
                if ! check_roles "$value"; then
                    usage_error "--role '${bad_role:-$value}' is not a role; expected a comma list of: $ROLES"
                    return
                fi
                opt_role=$value
                ;;
            --prefix)
                case "$value" in
                    /*) ;;
                    *)
                        usage_error "--prefix '$value' must be an absolute path"
                        return
                        ;;
                esac
                case "$value" in
                    *[!A-Za-z0-9._/+@:-]*)
                        usage_error "--prefix '$value' has characters configs cannot carry safely; use letters, digits and . _ - + @ : /"
                        return
                        ;;
                esac
                ;;
            --user)
                case "$value" in
                    "" | [!a-z_]* | *[!a-z0-9_-]*)
                        usage_error "--user '$value' is not a valid user name; expected lower case letters, digits, _ and -"
                        return
                        ;;
                esac
                ;;
            --zk-servers)
                if ! is_host_list "$value"; then
                    usage_error "--zk-servers '$value' is not a comma list of host names or IPv4 addresses"
                    return
                fi
                opt_zk_servers=$value
                ;;
            --zk-id)
                if ! is_uint "$value" || [ "$value" -lt 1 ] || [ "$value" -gt 255 ]; then
                    usage_error "--zk-id '$value' must be a whole number from 1 to 255"
                    return
                fi
                opt_zk_id=$value
                ;;
            --nimbus-host)
                if ! is_host_list "$value"; then
                    usage_error "--nimbus-host '$value' is not a comma list of host names or IPv4 addresses"
                    return
                fi
                ;;
            --ui-bind)
                addr=${value%:*}
                port=
                case "$value" in
                    *:*) port=${value##*:} ;;
                esac
                if ! is_host_list "$addr" || [ "$addr" != "${addr%,*}" ]; then
                    usage_error "--ui-bind '$value' must be ADDR or ADDR:PORT"
                    return
                fi
                if [ -n "$port" ] || [ "$value" != "$addr" ]; then
                    if ! is_uint "$port" || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
                        usage_error "--ui-bind '$value': the port must be 1 to 65535"
                        return
                    fi
                fi
                ;;
            --web-password-file)
                if [ -z "$value" ]; then
                    usage_error "--web-password-file needs a file name"
                    return
                fi
                ;;
            --init)
                case "$value" in
                    auto | systemd | none) ;;
                    *)
                        usage_error "--init '$value' must be auto, systemd or none"
                        return
                        ;;
                esac
                ;;
            --python)
                if [ -z "$value" ]; then
                    usage_error "--python needs the path of a Python interpreter"
                    return
                fi
                opt_python=$value
                ;;
            --launcher-python)
                if [ -z "$value" ]; then
                    usage_error "--launcher-python needs the path of a Python interpreter"
                    return
                fi
                ;;
            --timeout)
                if ! is_uint "$value" || [ "$value" -lt 1 ]; then
                    usage_error "--timeout '$value' must be a whole number of seconds"
                    return
                fi
                ;;
            --peer-timeout)
                if ! is_uint "$value"; then
                    usage_error "--peer-timeout '$value' must be a whole number of seconds"
                    return
                fi
                ;;
            --host)
                if ! is_host_list "$value" || [ "$value" != "${value%,*}" ]; then
                    usage_error "--host '$value' is not a host name"
                    return
                fi
                opt_host=$value
                ;;
            --dry-run) opt_dry_run=1 ;;
            --check) opt_check=1 ;;
            --uninstall) opt_uninstall=1 ;;
            --purge) opt_purge=1 ;;
            --help | -h) opt_help=1 ;;
        esac
        case "$arg" in
            --role | --user | --zk-servers | --zk-id | --nimbus-host | --ui-bind | \
                --web-password-file | --init | --launcher-python | --timeout | --no-start | \
                --peer-timeout)
                install_flags="$install_flags $arg"
                ;;
        esac
        shift
    done
    check_combinations
}

check_combinations() {
    if [ "$opt_help" -eq 1 ]; then
        return 0
    fi
    if [ "$opt_purge" -eq 1 ] && [ "$opt_uninstall" -eq 0 ]; then
        usage_error "--purge goes with --uninstall"
        return
    fi
    if [ "$opt_check" -eq 1 ] && [ "$opt_uninstall" -eq 1 ]; then
        usage_error "--check and --uninstall do not go together"
        return
    fi
    if [ "$opt_check" -eq 1 ] && [ "$opt_dry_run" -eq 1 ]; then
        usage_error "--check changes nothing already; drop --dry-run"
        return
    fi
    if [ "$opt_uninstall" -eq 1 ]; then
        if [ -n "$install_flags" ]; then
            usage_error "--uninstall takes only --prefix, --host, --purge, --dry-run and --python; found${install_flags}"
            return
        fi
        return 0
    fi
    if [ -z "$opt_role" ] && [ "$opt_check" -eq 0 ] && [ -z "$opt_host" ] && ! has_inventory; then
        usage_error "--role is required, e.g. --role all for a single-node cluster (a bundle built with --cluster takes the roles from its inventory)"
        return
    fi
    if [ -n "$opt_zk_id" ] && [ -n "$opt_zk_servers" ]; then
        count=$(printf '%s\n' "$opt_zk_servers" | awk -F, '{ print NF }')
        if [ "$opt_zk_id" -gt "$count" ]; then
            usage_error "--zk-id $opt_zk_id but --zk-servers names $count host(s); the id is this host's place in that list"
            return
        fi
    fi
    return 0
}

# --- Python ---

python_version() {
    "$1" -E -S -c 'import sys; sys.stdout.write("%d.%d\n" % sys.version_info[:2])' 2>/dev/null
}

bundle_pythons() {
    for lock in "$1"/python/locks/py*.txt; do
        if [ -f "$lock" ]; then
            version=${lock##*/py}
            printf '%s\n' "${version%.txt}"
        fi
    done | sort -t . -k 1,1n -k 2,2n
}

version_rank() {
    major=${1%%.*}
    minor=${1#*.}
    printf '%s\n' $((major * 1000 + minor))
}

bundle_has() {
    for known in $2; do
        if [ "$known" = "$1" ]; then
            return 0
        fi
    done
    return 1
}

python_fix() {
    say "the bundle has packages for Python $(printf '%s\n' "$1" | tr '\n' ' ' | sed 's/ $//')"
    say "fix: install one of them (Debian/Ubuntu: apt-get install python3-minimal;" \
        "RHEL/Rocky: dnf install python3) or pass --python /path/to/python"
}

# Prints the chosen interpreter; the newest version the bundle has packages for wins.
find_python() {
    root=$1
    wanted=$(bundle_pythons "$root")
    if [ -z "$wanted" ]; then
        err "the bundle has no python/locks/py*.txt; unpack the whole bundle again"
        return "$EXIT_INTEGRITY"
    fi
    if [ -n "$opt_python" ]; then
        if ! version=$(python_version "$opt_python") || [ -z "$version" ]; then
            err "--python $opt_python does not run; expected a Python interpreter"
            python_fix "$wanted"
            return "$EXIT_PREREQ"
        fi
        if ! bundle_has "$version" "$wanted"; then
            err "--python $opt_python is Python $version, which this bundle has no packages for"
            python_fix "$wanted"
            return "$EXIT_PREREQ"
        fi
        printf '%s\n' "$opt_python"
        return 0
    fi
    best='' best_rank=0 seen=''
    for name in python3 python python2 python3.13 python3.12 python3.11 python3.10 python3.9 \
        python3.8 python3.7 python3.6 python2.7; do
        path=$(command -v "$name" 2>/dev/null) || continue
        case "$path" in
            /*) ;;
            *) continue ;;
        esac
        version=$(python_version "$path") || continue
        [ -n "$version" ] || continue
        seen="$seen $path ($version)"
        if bundle_has "$version" "$wanted"; then
            rank=$(version_rank "$version")
            if [ "$rank" -gt "$best_rank" ]; then
                best=$path
                best_rank=$rank
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

# --- the bundle ---

# Files present but not listed in SHA256SUMS: a bundle is exactly what its sums say.
extra_files() {
    (cd "$1" && find . \( -type f -o -type l \) -print) | sed 's|^\./||' |
        awk 'NR == FNR { sub(/^[0-9a-f]+  /, ""); listed[$0] = 1; next }
             $0 != "SHA256SUMS" && !($0 in listed) { print }' "$1/SHA256SUMS" -
}

verify_bundle() {
    root=$1
    python=$2
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
    elif ! (cd "$root" && "$python" -E -S -B target/sha256check.py SHA256SUMS); then
        err "bundle files do not match SHA256SUMS (tampered or truncated); copy the bundle again and check it with its .sha256"
        return "$EXIT_INTEGRITY"
    fi
    extra=$(extra_files "$root")
    if [ -n "$extra" ]; then
        printf '%s\n' "$extra" | sed 's/^/  not in SHA256SUMS: /' >&2
        err "the bundle folder holds files its SHA256SUMS does not list; unpack the bundle again into an empty folder"
        return "$EXIT_INTEGRITY"
    fi
    say "bundle verified: every file matches SHA256SUMS"
    return "$EXIT_OK"
}

main() {
    parse_args "$@" || return $?
    if [ "$opt_help" -eq 1 ]; then
        usage
        return "$EXIT_OK"
    fi
    for cmd in find sed awk grep sort tr; do
        need_cmd "$cmd" || return $?
    done
    root=$(bundle_dir) || {
        err "cannot find the bundle folder"
        return "$EXIT_ERROR"
    }
    python=$(find_python "$root") || return $?
    verify_bundle "$root" "$python" || return $?
    # -E -S: no PYTHON* variables, user site or .pth files from this host steer the installer;
    # -B: the verified bundle stays exactly as it was (no __pycache__).
    exec "$python" -E -S -B "$root/target/install.py" --bundle-dir "$root" "$@"
}

main "$@" || exit $?
