#!/bin/sh
# Stand-in for ZooKeeper's bin/zkCli.sh: runs ZooKeeperMain from the stand-in's jars.

main() {
  ZOOBINDIR=$(cd "$(dirname "$0")" && pwd) || exit 1
  # shellcheck source=SCRIPTDIR/zkEnv.sh disable=SC1091
  . "$ZOOBINDIR/zkEnv.sh"
  # The flag variables are word lists by design, as in the real script.
  # shellcheck disable=SC2086
  exec "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" "-Dzookeeper.root.logger=${ZOO_LOG4J_PROP}" \
    -cp "$CLASSPATH" ${CLIENT_JVMFLAGS:-} ${JVMFLAGS:-} org.apache.zookeeper.ZooKeeperMain "$@"
}

main "$@"
