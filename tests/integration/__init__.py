"""Real local things without root: HTTP on 127.0.0.1, gpg, builds, subprocesses."""
