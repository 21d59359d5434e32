"""The daemons a host can run, in start order, and the supervisord program of each."""

from __future__ import absolute_import, print_function

from . import configs

DAEMONS = ("zookeeper", "nimbus", "supervisor", "ui", "logviewer", "drpc")
STORM_DAEMONS = DAEMONS[1:]
ROLE_OF = dict((name, role) for role, name, _ in configs.PROGRAMS)
