#!/bin/sh
# Stand-in for ZooKeeper's bin/zkEnv.sh, sourced by zkServer.sh and zkCli.sh with ZOOBINDIR set.
# Sets ZOOKEEPER_PREFIX, ZOOCFGDIR, ZOOCFG, ZOO_LOG_DIR, JAVA and CLASSPATH.

ZOOKEEPER_PREFIX=$(cd "$ZOOBINDIR/.." && pwd)
ZOOCFGDIR=${ZOOCFGDIR:-$ZOOKEEPER_PREFIX/conf}

if [ -f "$ZOOCFGDIR/zookeeper-env.sh" ]; then
  # shellcheck disable=SC1091  # the user's file, present only on some hosts
  . "$ZOOCFGDIR/zookeeper-env.sh"
fi

ZOOCFG=$ZOOCFGDIR/${ZOOCFG:-zoo.cfg}

if [ -f "$ZOOCFGDIR/java.env" ]; then
  # shellcheck disable=SC1091  # the user's file, present only on some hosts
  . "$ZOOCFGDIR/java.env"
fi

ZOO_LOG_DIR=${ZOO_LOG_DIR:-$ZOOKEEPER_PREFIX/logs}
ZOO_LOG4J_PROP=${ZOO_LOG4J_PROP:-INFO,CONSOLE}

# JAVA is read by the scripts that source this one.
# shellcheck disable=SC2034
if [ -n "${JAVA_HOME:-}" ]; then
  JAVA=$JAVA_HOME/bin/java
else
  JAVA=java
fi

# conf first (logging config is found on the classpath), then the server jar(s), then lib/.
CLASSPATH=$ZOOCFGDIR${CLASSPATH:+:$CLASSPATH}
for jar in "$ZOOKEEPER_PREFIX"/zookeeper-*.jar "$ZOOKEEPER_PREFIX"/lib/*.jar; do
  if [ -f "$jar" ]; then
    CLASSPATH=$CLASSPATH:$jar
  fi
done

export ZOOKEEPER_PREFIX ZOOCFGDIR ZOOCFG ZOO_LOG_DIR CLASSPATH
