"""The notebook API (``spicegen.train``, ``cosimulate``, ...): options held to the command line's
checks, graphs from files, no name shadowed by a submodule, progress bars that fall back quietly."""
import os
import pkgutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import spicegen


@pytest.fixture(scope="module")
def tiny():
    data = spicegen.load_data("digits", train_limit=200)
    model, result = spicegen.train("rf", data, sizes=(64, 4, 10), epochs=1, progress=False,
                                   threads=1)
    return data, model, result


def test_no_api_name_is_a_submodule():
    # an imported submodule becomes a package attribute and would hide the function
    submodules = {m.name for m in pkgutil.iter_modules(spicegen.__path__)}
    assert not submodules & set(spicegen.API)
    assert all(callable(getattr(spicegen, name)) and getattr(spicegen, name).__doc__
               for name in spicegen.API)
    with pytest.raises(AttributeError, match="no attribute 'bogus'"):
        spicegen.bogus


def test_kinds_match_the_registry():
    from spintronic import networks
    assert list(spicegen.kinds()) == list(networks.NETWORKS)


def test_train_takes_the_kinds_options_and_checks_them(tiny):
    data, model, result = tiny
    assert model.kind == "rf" and tuple(model.sizes) == (64, 4, 10)
    assert 0 <= result.test_accuracy <= 1 and len(result.history) == 1
    with pytest.raises(ValueError, match="no option 'bogus'"):
        spicegen.train("rf", data, bogus=1)
    with pytest.raises(ValueError, match=r"f_min=-1\.0: must be > 0"):
        spicegen.train("rf", data, f_min=-1.0)
    with pytest.raises(ValueError, match="grid='log': choose from linear, geometric"):
        spicegen.train("rf", data, grid="log")
    with pytest.raises(ValueError, match="epochs=0: must be >= 1"):
        spicegen.train("rf", data, epochs=0)
    with pytest.raises(ValueError, match="no option 'out'"):    # the API's own argument stands
        spicegen.train("rf", data, out="x.pt")
    with pytest.raises(ValueError, match="unknown network kind 'bogus'"):
        spicegen.train("bogus", data)
    # a kind option reaches the model's configuration
    model, _ = spicegen.train("rf", data, sizes=(64, 4, 10), epochs=1, progress=False,
                              threads=1, f_min=2e9, f_max=4e9, grid="geometric")
    assert (model.config.f_min, model.config.f_max, model.config.grid) == (2e9, 4e9, "geometric")


def test_train_leaves_torchs_thread_setting_as_it_was(tiny):
    import torch
    data, _, _ = tiny
    before = torch.get_num_threads()
    spicegen.train("mlp", data, sizes=(64, 4, 10), epochs=1, progress=False, threads=1)
    assert torch.get_num_threads() == before


@pytest.mark.filterwarnings("ignore::spintronic.networks.api.DesignRuleWarning")
def test_checkpoint_graph_netlist_and_cosim_from_files(tiny, tmp_path):
    data, model, _ = tiny
    spicegen.save_checkpoint(model, tmp_path / "m.pt", data=data)
    again, meta = spicegen.load_checkpoint(tmp_path / "m.pt")
    assert meta["kind"] == "rf" and meta["data_source"]["train_limit"] == 200
    assert "data_source" not in spicegen.to_graph(again).graph
    graph = spicegen.to_graph(again, data)      # records where it was trained, as export does
    spicegen.save_graph(graph, tmp_path / "g.graphml")
    from spintronic.graph import schema
    assert schema.data_source(spicegen.load_graph(tmp_path / "g.graphml")) == data.source
    X, y = data.X_test[:3], data.y_test[:3]
    net = spicegen.compile(tmp_path / "g.graphml", X, window=100e-9)
    assert net.n_samples == 3 and ".tran" in net.text
    res = spicegen.cosimulate(str(tmp_path / "g.graphml"), X, y, progress=False, chunk=2)
    rep = res.report()
    assert rep["samples"] == 3 and rep["ngspice_runs"] == 2 and rep["argmax_agreement"] == 1.0
    assert "argmax agreement        100.00 %" in res.text()
    with pytest.raises(ValueError, match="fidelity='carrier': choose from envelope, rf"):
        spicegen.cosimulate(graph, X, y, fidelity="carrier")
    with pytest.raises(ValueError, match="no option 'limit'"):      # X is what runs
        spicegen.cosimulate(graph, X, y, limit=2)
    with pytest.raises(ValueError, match="X has 3 samples but y has 2"):
        spicegen.cosimulate(graph, X, y[:2])
    with pytest.raises(ValueError, match="expected a device graph"):
        spicegen.cosimulate(np.zeros(3), X, y)


def test_progress_bars_fall_back_quietly_in_a_notebook_without_ipywidgets():
    # a Jupyter kernel as tqdm.autonotebook recognises one, and no ipywidgets installed
    fake_kernel = textwrap.dedent("""
        import sys, types, warnings
        sys.modules["ipykernel"] = types.ModuleType("ipykernel")
        sys.modules["ipykernel.zmqshell"] = types.ModuleType("ipykernel.zmqshell")
        ipython = types.ModuleType("IPython")
        ipython.get_ipython = lambda: types.SimpleNamespace()
        sys.modules["IPython"] = ipython
        sys.modules["ipywidgets"] = None          # import fails: not installed
        warnings.simplefilter("always")
    """)
    plain = fake_kernel + "from tqdm.auto import tqdm\n"
    ours = fake_kernel + textwrap.dedent("""
        from spintronic.training.trainer import progress_bar as training_bar
        from spicegen.cosim import progress_bar as spice_bar
        for make in (training_bar, spice_bar):
            bar = make()(total=3, desc="bar", file=sys.stdout)
            bar.update(3)
            bar.close()
    """)
    run = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd="/") for code in (plain, ours)]
    assert all(r.returncode == 0 for r in run), [r.stderr for r in run]
    assert "ipywidgets" in run[0].stderr       # what tqdm.auto alone says there
    assert run[1].stderr == ""                 # ours: nothing
    assert run[1].stdout.count("bar: 100%|") == 2 and "3/3" in run[1].stdout


def test_cosimulate_warns_where_the_envelope_design_rules_fail():
    import warnings

    from spintronic.networks.checkpoints import make_model
    from spintronic.training.rf_network import RFNetworkConfig
    rng = np.random.default_rng(0)
    got = {}
    crowded = RFNetworkConfig(f_max=4e7)        # 64 channels 1.1 linewidths apart
    for sizes in ((64, 4, 10), (4, 3, 2)):     # 4 channels on the default band: far apart
        g = spicegen.to_graph(make_model("rf", sizes, 0, crowded if sizes[0] == 64 else None))
        X, y = rng.random((2, sizes[0])), np.zeros(2, dtype=int)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = spicegen.cosimulate(g, X, y, progress=False)
        got[sizes] = [str(w.message) for w in caught
                      if issubclass(w.category, spicegen.DesignRuleWarning)]
        assert got[sizes] == res.design_rules.warnings
    assert len(got[(64, 4, 10)]) == 1 and "layer 1" in got[(64, 4, 10)][0]
    assert got[(4, 3, 2)] == []
