"""Benchmarks of bundler against the by-hand way and the limit; run `python scripts/bench`."""
