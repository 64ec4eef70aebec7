"""Benchmarks: run on purpose (`./dev bench`), never in the test suite."""
