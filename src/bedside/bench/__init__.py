"""Benchmark helpers: scoring calls against a truth set (:mod:`bedside.bench.scoring`)."""
