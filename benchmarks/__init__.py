"""Benchmarks: every figure is a ratio against a baseline measured in the same run.

Each ``benchmarks/bench_*.py`` module defines ``run(record)``; it measures and calls
``record(name, value, goal, op, note)`` once per figure. ``python -m benchmarks`` runs them all,
writes ``benchmarks/results.json`` and prints a markdown table.
"""
