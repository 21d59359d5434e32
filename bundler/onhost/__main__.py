"""`python -E -S -B -m onhost ...`, run by install.sh from the bundle's folder."""

from __future__ import absolute_import

from .cli import entry_point

entry_point()
