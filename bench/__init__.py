"""Benchmarks and benchmark inputs (not part of the installed package)."""
