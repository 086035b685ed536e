"""Benchmarks: run each with ``python -m benchmarks.bench_<topic>``."""
