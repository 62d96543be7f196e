"""``python -m benchmarks [name ...]``: run the benchmarks, write results.json and results.md."""

from __future__ import annotations

import sys

from benchmarks._harness import run_all, write


def main(argv: list[str]) -> int:
    figures = run_all(argv or None)
    print(write(figures))
    return 0 if all(f.met for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
