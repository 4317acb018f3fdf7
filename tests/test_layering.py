"""The layers hold: streamlit is imported only by the app's layer (rnn_demo/ui/, pages/, app.py),
and no rnn_demo module imports one that imports it back (read from the source, with ast)."""
from __future__ import annotations

import ast
from pathlib import Path

from rnn_demo import registry

ROOT = registry.ROOT
PACKAGE = ROOT / "rnn_demo"
APP_LAYER = (PACKAGE / "ui", ROOT / "pages", ROOT / "app.py")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "locale" not in p.parts}


def imported(path: Path, known: set[str] | frozenset = frozenset()) -> set[str]:
    """Every module a file imports, anywhere in it (inside functions too), as dotted names:
    `from a import b` gives a.b when that is one of the `known` modules, else a."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from .y import z
                base = ".".join(filter(None, [package.rsplit(".", node.level - 1)[0] if node.level > 1 else package,
                                              base]))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    return found


def graph() -> dict[str, set[str]]:
    """rnn_demo module -> the rnn_demo modules it imports (a package's __init__ is imported only
    when named itself: `from rnn_demo.plots import figure` counts as importing rnn_demo.plots)."""
    mods = modules()
    return {name: {m for m in imported(path, set(mods)) if m in mods and m != name} for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_only_the_app_layer_imports_streamlit():
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "scripts").glob("*.py")]
    outside = sorted(str(p.relative_to(ROOT)) for p in files
                     if not any(p == layer or layer in p.parents for layer in APP_LAYER)
                     and any(m == "streamlit" or m.startswith("streamlit.") for m in imported(p)))
    assert outside == []
    # and the app layer does import it (the check reads imports at all)
    assert "streamlit" in imported(PACKAGE / "ui" / "session.py")
    assert "streamlit" in imported(ROOT / "app.py")


def test_no_import_circle_among_rnn_demo_modules():
    edges = graph()
    assert "rnn_demo.recipe" in edges["rnn_demo.checkpoints"] and "rnn_demo.recipe" in edges["rnn_demo.train"]
    assert cycles(edges) == []


def test_the_circle_finder_finds_a_circle():
    edges = graph()
    edges["rnn_demo.recipe"] = edges["rnn_demo.recipe"] | {"rnn_demo.train"}  # train -> recipe -> train
    assert [c for c in cycles(edges) if {"rnn_demo.recipe", "rnn_demo.train"} <= set(c)]
