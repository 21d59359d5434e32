"""The fast tier: pure decisions, parsing and rendering (no root, network or processes)."""
