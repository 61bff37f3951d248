"""Benchmarks that print figures; `python -m bench` (or `make bench`) runs them all and writes
bench/RESULTS.md. Not part of the test suite."""
