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
