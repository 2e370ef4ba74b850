"""The import direction of the design card, measured by what importing each layer loads:
models imports nothing of the project; graph only models; training and spicegen not each other;
networks and the command line sit on top. And the toolkit keeps working beside a user's own
``models`` package and ``training.py``."""
import os
import subprocess
import sys
import textwrap

import pytest

# layer -> project packages it may load (itself included)
ALLOWED = {
    "spintronic.models": {"spintronic.models"},
    "spintronic.graph": {"spintronic.models", "spintronic.graph"},
    "spintronic.training": {"spintronic.models", "spintronic.graph", "spintronic.training"},
    "spicegen": {"spintronic.models", "spintronic.graph", "spicegen"},
}
PROJECT = ("spintronic.models", "spintronic.graph", "spintronic.training", "spintronic.networks",
           "spicegen")
# the command line and example library sit above everything
TOP = ("spicegen.cli", "spicegen.library")


def _loaded(package: str) -> set[str]:
    code = textwrap.dedent(f"""
        import importlib, pkgutil, sys
        import {package} as pkg
        for m in pkgutil.walk_packages(pkg.__path__, "{package}."):
            if not m.name.startswith({TOP!r}):
                importlib.import_module(m.name)
        print("\\n".join(sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    return {p for m in out.stdout.split() for p in PROJECT if m == p or m.startswith(p + ".")}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_layer_loads_only_what_it_may(package):
    assert _loaded(package) <= ALLOWED[package]


# the one upward import allowed: spicegen's notebook API (spicegen.train, ...) is
# spintronic.networks.api, loaded by the package's module __getattr__ on first use
LAZY_REEXPORT = ("spicegen/__init__.py", "__getattr__", "spintronic.networks.api")


def _imports(package: str):
    """(file, enclosing function or '', imported project package) for every import statement in
    ``package``'s sources, at any depth (a function-level import loads nothing until it runs)."""
    import ast
    import importlib.util

    root = importlib.util.find_spec(package).submodule_search_locations[0]
    for folder, _, files in os.walk(root):
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            inside = os.path.relpath(path, root).replace(os.sep, "/")
            if f"{package}.{inside[:-3].replace('/', '.')}".startswith(TOP):
                continue
            rel = f"{package.replace('.', '/')}/{inside}"
            tree = ast.parse(open(path, encoding="utf-8").read())
            functions = {}
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for inner in ast.walk(node):
                        functions.setdefault(inner, node.name)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [f"{node.module}.{a.name}" for a in node.names]
                else:
                    continue
                for n in names:
                    hit = [p for p in PROJECT if n == p or n.startswith(p + ".")]
                    if hit:
                        yield rel, functions.get(node, ""), n, hit[0]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_import_statement_reaches_up_a_layer(package):
    """Also the imports inside functions, which the loading test above never runs; the one
    exception is spicegen's lazy re-export of the notebook API."""
    wrong = [(rel, fn, name) for rel, fn, name, layer in _imports(package)
             if layer not in ALLOWED[package] and (rel, fn, name) != LAZY_REEXPORT]
    assert not wrong


def test_import_spicegen_loads_the_notebook_api_only_on_use():
    code = textwrap.dedent("""
        import sys
        import spicegen
        up = lambda: sorted(m for m in sys.modules if m == "torch" or m.startswith(
            ("spintronic.networks", "spintronic.training")))
        before = up()
        assert "cosimulate" in dir(spicegen) and "cosimulate" in spicegen.__all__
        kinds = spicegen.kinds()
        print(before, "spintronic.networks.api" in sys.modules, "torch" in sys.modules,
              sorted(kinds))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("[] True True ['cnn', 'ctrnn', ")


def test_toolkit_works_beside_a_users_models_and_training(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("raise ImportError('the user models')\n")
    (tmp_path / "training.py").write_text("raise ImportError('the user training')\n")
    (tmp_path / "use.py").write_text(textwrap.dedent("""
        import importlib, pkgutil, spicegen
        from spintronic import networks
        from spintronic.networks.checkpoints import make_model
        for m in pkgutil.walk_packages(spicegen.__path__, "spicegen."):
            importlib.import_module(m.name)
        g = networks.to_graph(make_model("rf", (4, 2, 2)))
        print(sorted(networks.NETWORKS), g.number_of_nodes())
    """))
    out = subprocess.run([sys.executable, "use.py"], capture_output=True, text=True,
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""})
    assert out.returncode == 0, out.stderr
    assert all(f"'{k}'" in out.stdout for k in ("ctrnn", "mlp", "rf", "stno", "rfcnn", "cnn"))
