#!/bin/sh
# Stand-in for ZooKeeper's bin/zkServer.sh (the server classes are the release's own).
# Supports what a process supervisor needs: start-foreground (exec java) and version.

ZK_STANDIN_VERSION="@ZK_VERSION@"
ZOOMAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain

usage() {
  echo "Usage: $0 [--config <conf-dir>] {start-foreground|version} [<zoo.cfg>]" >&2
  echo "(stand-in: start, stop, restart and status are not provided)" >&2
}

main() {
  ZOOBINDIR=$(cd "$(dirname "$0")" && pwd) || exit 1
  if [ "${1:-}" = "--config" ]; then
    if [ $# -lt 2 ]; then
      usage
      exit 1
    fi
    ZOOCFGDIR=$2
    shift 2
  fi
  # shellcheck source=SCRIPTDIR/zkEnv.sh disable=SC1091
  . "$ZOOBINDIR/zkEnv.sh"
  # As in the real script, a second argument names the config file.
  if [ -n "${2:-}" ]; then
    case $2 in
      */*) ZOOCFG=$2 ;;
      *) ZOOCFG=$ZOOCFGDIR/$2 ;;
    esac
  fi
  case "${1:-}" in
    start-foreground)
      if ! command -v "$JAVA" >/dev/null 2>&1; then
        echo "Error: JAVA_HOME is not set and java could not be found in PATH." >&2
        exit 1
      fi
      echo "Using config: $ZOOCFG" >&2
      # The flag variables are word lists by design, as in the real script.
      # shellcheck disable=SC2086
      exec "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" "-Dzookeeper.root.logger=$ZOO_LOG4J_PROP" \
        -cp "$CLASSPATH" ${JVMFLAGS:-} ${SERVER_JVMFLAGS:-} "$ZOOMAIN" "$ZOOCFG"
      ;;
    version)
      echo "Apache ZooKeeper, version $ZK_STANDIN_VERSION (stand-in scripts; the release's own server classes)"
      ;;
    *)
      usage
      exit 1
      ;;
  esac
}

main "$@"
