"""The daemons a host can run, in start order, and the supervisord program of each."""

from __future__ import absolute_import, print_function

from ..contract import contract
from . import configs

DAEMONS = contract.ROLES
STORM_DAEMONS = contract.STORM_ROLES
ROLE_OF = dict((name, role) for role, name, _ in configs.PROGRAMS)
