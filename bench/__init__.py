"""Benchmarks that print figures; run with `make bench`. Not part of the test suite."""
