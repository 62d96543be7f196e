"""Discover, run and tabulate the benchmark modules."""

from __future__ import annotations

import importlib
import json
import operator
import pkgutil
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}


@dataclass
class Figure:
    """One measured ratio and its goal."""

    name: str
    value: float
    goal: float
    op: str
    note: str
    module: str

    @property
    def met(self) -> bool:
        return _OPS[self.op](self.value, self.goal)


Record = Callable[..., None]


def run_all(only: list[str] | None = None) -> list[Figure]:
    """Run every ``bench_*`` module (or those named in ``only``) and return their figures."""
    figures: list[Figure] = []
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))
    for name in names:
        if only and name.removeprefix("bench_") not in only and name not in only:
            continue
        module = importlib.import_module(f"benchmarks.{name}")

        def record(
            fig: str, value: float, goal: float, op: str = "<=", note: str = "", _m: str = name
        ) -> None:
            figures.append(Figure(fig, float(value), float(goal), op, note, _m))
            print(f"  {fig} = {value:.4g} (goal {op} {goal}) {note}", flush=True)

        print(f"[{name}]", flush=True)
        started = time.perf_counter()
        try:
            module.run(record)
        except Exception:  # a broken benchmark is reported, the others still run
            traceback.print_exc()
            figures.append(
                Figure(f"{name}:error", float("nan"), 0.0, "<=", "raised; see log", name)
            )
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    return figures


def write(figures: list[Figure]) -> str:
    """Write results.json and return the markdown table."""
    payload = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "figures": {f.name: {**asdict(f), "met": f.met} for f in figures},
    }
    RESULTS.write_text(json.dumps(payload, indent=2))
    rows = ["| figure | value | goal | met | note |", "|---|---|---|---|---|"]
    rows += [
        f"| `{f.name}` | {f.value:.4g} | {f.op} {f.goal:g} | {'yes' if f.met else 'NO'} | {f.note} |"
        for f in figures
    ]
    table = "\n".join(rows)
    (HERE / "results.md").write_text(table + "\n")
    return table
