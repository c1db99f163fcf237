"""Benchmarks: each `bench_*.py` module here has a `main()`; `make bench` runs them all."""
