"""Integration tests: whole pipelines on the development data and slow end-to-end runs.

Everything here either needs ``../shared/data`` (and skips cleanly without it) or is marked slow.
"""
