#!/bin/sh
# Stand-in for Apache Storm's bin/storm shell wrapper (0.10 and later), not Apache Storm:
# picks a Python the way that release's wrapper did, then execs bin/storm.py.

# Tried in order when $PYTHON is unset; filled in per release when the tarball is built.
PYTHON_CANDIDATES="@PYTHON_CANDIDATES@"

bin_dir() {
  prg=$0
  while [ -h "$prg" ]; do
    link=$(readlink "$prg")
    case $link in
      /*) prg=$link ;;
      *) prg=$(dirname "$prg")/$link ;;
    esac
  done
  cd "$(dirname "$prg")" && pwd
}

pick_python() {
  if [ -n "${PYTHON:-}" ]; then
    return 0
  fi
  for candidate in $PYTHON_CANDIDATES; do
    if command -v "$candidate" >/dev/null 2>&1; then
      PYTHON=$candidate
      return 0
    fi
  done
  PYTHON=python
}

# Like the real wrapper, a Python that is missing reads as one that is too old.
check_python() {
  version=$($PYTHON -V 2>&1 | awk '{print $2}')
  major=$(echo "$version" | cut -d. -f1)
  minor=$(echo "$version" | cut -d. -f2)
  case "$major:$minor" in
    *[!0-9:]* | :* | *:) echo "Need python version > 2.6"; exit 1 ;;
  esac
  if [ $((10 * major + minor)) -lt 26 ]; then
    echo "Need python version > 2.6"
    exit 1
  fi
}

main() {
  STORM_BIN_DIR=$(bin_dir) || exit 1
  STORM_BASE_DIR=$(cd "$STORM_BIN_DIR/.." && pwd) || exit 1
  export STORM_BASE_DIR
  if [ $# -gt 1 ] && [ "$1" = "--config" ]; then
    conf_file=$2
    if [ -d "$conf_file" ]; then
      conf_file=$conf_file/storm.yaml
    fi
    if [ ! -f "$conf_file" ]; then
      echo "Error: Cannot find configuration file: $conf_file"
      exit 1
    fi
    STORM_CONF_FILE=$conf_file
    STORM_CONF_DIR=$(dirname "$conf_file")
  fi
  STORM_CONF_DIR=${STORM_CONF_DIR:-$STORM_BASE_DIR/conf}
  STORM_CONF_FILE=${STORM_CONF_FILE:-$STORM_CONF_DIR/storm.yaml}
  export STORM_CONF_DIR STORM_CONF_FILE
  if [ -f "$STORM_CONF_DIR/storm-env.sh" ]; then
    # shellcheck disable=SC1091  # the user's file, present only on some hosts
    . "$STORM_CONF_DIR/storm-env.sh"
  fi
  pick_python
  check_python
  # $PYTHON may carry arguments ("/usr/bin/env python"), as with the real wrapper.
  # shellcheck disable=SC2086
  exec $PYTHON "$STORM_BIN_DIR/storm.py" "$@"
}

main "$@" || exit 1
