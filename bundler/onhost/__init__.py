"""Code that runs on the air-gapped host, copied into every bundle.

Rules: standard library only, and it must run on Python 2.7 and 3.6 to 3.13. Nothing here
imports from the rest of `bundler`; the build side may import this package. contract.py holds
what both sides must agree on (roles, exit codes, value rules).
"""
