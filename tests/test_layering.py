"""The architecture, pinned: no import cycle among ``kubeez_nb`` modules (imports inside functions
counted, ``if TYPE_CHECKING:`` blocks not), no module over 600 lines, front ends go through
``prepare`` / ``submit`` (they import neither the validation rules nor the pricing module),
storage knows nothing of the client or the job, the emulator imports only the contract."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kubeez_nb

ROOT = Path(kubeez_nb.__file__).resolve().parent
MAX_LINES = 600
#: the package's lazy public surface: ``__getattr__`` / the IPython hook import on demand
LAZY_SURFACE = "kubeez_nb"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            pkg = module.split(".")
            if MODULES[module].name != "__init__.py":
                pkg = pkg[:-1]
            pkg = pkg[: len(pkg) - (node.level - 1)]
            base = ".".join(pkg + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    out = []
    for name in names:
        while name not in MODULES and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in MODULES and name != module:
            out.append(name)
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
                deps.update(_targets(name, node))
        graph[name] = set() if name == LAZY_SURFACE else deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def _edges_within(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    members = set(comp)
    return [f"{a} -> {b}" for a in comp for b in sorted(graph[a] & members)]


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The checker itself must be able to fail."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_kubeez_nb_modules() -> None:
    graph = _graph()
    assert graph.get("kubeez_nb.client")  # the walk saw imports
    cycles = _cycles(graph)
    report = "\n".join(f"{c}:\n    " + "\n    ".join(_edges_within(graph, c)) for c in cycles)
    assert not cycles, f"import cycles:\n{report}"


def test_no_module_over_600_lines() -> None:
    sizes = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in MODULES.items()}
    assert sizes["kubeez_nb.client"] > 100  # really measured
    big = {n: s for n, s in sizes.items() if s > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


FRONT_ENDS = (
    "kubeez_nb.magics",
    "kubeez_nb.widgets",
    "kubeez_nb.batching",
    "kubeez_nb._batch_runner",
)
FORBIDDEN_FOR_FRONT_ENDS = ("kubeez_nb.contract.rules", "kubeez_nb.contract.pricing")


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_front_ends_go_through_prepare_and_submit(front: str) -> None:
    graph = _graph()
    mine = [n for n in graph if n == front or n.startswith(front + ".")]
    assert mine, front
    bad = {n: sorted(graph[n] & set(FORBIDDEN_FOR_FRONT_ENDS)) for n in mine}
    assert not {n: b for n, b in bad.items() if b}, "front ends must call prepare/submit"


def test_storage_knows_nothing_of_the_client_or_the_job() -> None:
    graph = _graph()
    upper = {"kubeez_nb.client", "kubeez_nb.pipeline", "kubeez_nb.job", "kubeez_nb.recovery"}
    for storage in (
        "kubeez_nb.ledger",
        "kubeez_nb.cache",
        "kubeez_nb.matching",
        "kubeez_nb.mirror",
    ):
        assert not graph[storage] & upper, (storage, sorted(graph[storage] & upper))


def test_the_emulator_imports_only_the_contract_and_errors() -> None:
    graph = _graph()
    allowed = ("kubeez_nb.emulator", "kubeez_nb.contract", "kubeez_nb.errors")
    bad = {
        n: sorted(d for d in deps if not d.startswith(allowed))
        for n, deps in graph.items()
        if n.startswith("kubeez_nb.emulator")
    }
    bad = {n: b for n, b in bad.items() if b}
    assert not bad, bad


def test_no_submodule_is_named_like_a_public_name() -> None:
    """``import kubeez_nb.<pkg>.<name>`` would replace the function ``<pkg>.<name>`` with the
    module (the ``kz.batch`` trap): no package exports a name one of its submodules has."""
    import importlib

    packages = [n for n, p in MODULES.items() if p.name == "__init__.py" and "emulator" not in n]
    assert "kubeez_nb" in packages
    clashes = {}
    for pkg in packages:
        public = set(getattr(importlib.import_module(pkg), "__all__", ()))
        subs = {
            n[len(pkg) + 1 :]
            for n in MODULES
            if n.startswith(pkg + ".") and "." not in n[len(pkg) + 1 :]
        }
        if public & subs:
            clashes[pkg] = sorted(public & subs)
    assert not clashes, clashes
