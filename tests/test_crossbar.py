"""Resistive DW-MTJ crossbar: Kirchhoff solutions worked out by hand against ngspice and numpy."""
import shutil

import numpy as np
import pytest

from spicegen.crossbar import (SOLVERS, ConductanceMap, CrossbarConfig, crossbar_mac,
                               crossbar_netlist, effective_weights, layer_accuracy,
                               plot_current_map, plot_mac_error_sweep, read_cell, report,
                               solve_numpy, solve_spice, weights_to_conductances)
from spicegen.crossbar.topology import _build_circuit

from .conftest import requires_ngspice

# conductances of a 2 x 2 array (rows = inputs, columns = outputs), all in [G_AP, G_P]
G2 = np.array([[1 / 5e3, 1 / 12.5e3],
               [1 / 8e3, 1 / 6e3]])


def both_solvers(cmap, x, cfg):
    results = [solve_numpy(cmap, x, cfg)]
    if shutil.which("ngspice"):
        results.append(solve_spice(cmap, x, cfg))
    return results


def test_ideal_2x2_column_currents_are_g_times_v():
    cfg = CrossbarConfig(v_read=0.2)
    cmap = ConductanceMap.from_conductances(G2, cfg)
    x = np.array([1.0, -0.5])
    V = np.array([0.2, -0.1])            # x scaled so that max|x| reads at v_read
    expected = np.array([G2[0, 0] * V[0] + G2[1, 0] * V[1], G2[0, 1] * V[0] + G2[1, 1] * V[1]])
    for res in both_solvers(cmap, x, cfg):
        np.testing.assert_allclose(res.column_current, expected, rtol=1e-12, atol=0)
        np.testing.assert_allclose(res.cell_current, G2 * V[:, None], rtol=1e-12)
        assert res.sneak_current == pytest.approx(0, abs=1e-18)
        np.testing.assert_allclose(res.output, G2.T @ x, rtol=1e-12)


@pytest.mark.parametrize("differential", [True, False])
def test_ideal_mapping_gives_back_w_times_x(differential):
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3, 4))
    X = rng.uniform(-1, 2, size=(5, 4))
    cfg = CrossbarConfig(differential=differential)
    cmap = weights_to_conductances(W, cfg)
    assert cmap.G.shape == (4, 6 if differential else 4)
    assert cmap.G.min() >= cfg.g_ap * (1 - 1e-12) and cmap.G.max() <= cfg.g_p * (1 + 1e-12)
    assert cmap.G.max() == pytest.approx(cfg.g_p)     # the largest |w| uses the full range
    for res in both_solvers(cmap, X[0], cfg):
        np.testing.assert_allclose(res.output, W @ X[0], rtol=1e-10)
        assert np.abs(res.mac_error).max() < 1e-12
    np.testing.assert_allclose(crossbar_mac(W, X, cfg), X @ W.T, rtol=1e-10)


def test_array_larger_than_w_pads_with_off_devices():
    W = np.array([[0.5, -1.0, 0.25], [1.0, 0.0, -0.5]])
    cfg = CrossbarConfig(rows=5, cols=6)
    cmap = weights_to_conductances(W, cfg)
    assert cmap.G.shape == (5, 6)
    assert np.all(cmap.G[3:] == cfg.g_ap)
    x = np.array([0.3, 1.0, -0.2])
    np.testing.assert_allclose(solve_numpy(cmap, x).output, W @ x, rtol=1e-12)


@requires_ngspice
def test_2x2_with_wire_resistance_matches_kirchhoff_by_hand():
    r, Vr = 50.0, 0.1
    cfg = CrossbarConfig(r_wire=r, v_read=Vr)
    cmap = ConductanceMap.from_conductances(G2, cfg)
    x = np.array([1.0, 0.5])
    V0, V1 = 0.1, 0.05
    g = 1 / r
    (G00, G01), (G10, G11) = G2
    # Row i is driven at V_i through one wire segment r, then r between its two cells; column j
    # runs from the cell in row 0 through r to the cell in row 1 and through r to the 0 V TIA input.
    # Unknowns u = [r00, r01, r10, r11, c00, c01, c10, c11] (row-wire and column-wire node at each
    # cell). KCL, currents leaving each node sum to zero:
    #   r00: g(r00 - V0) + g(r00 - r01) + G00(r00 - c00) = 0
    #   r01: g(r01 - r00) + G01(r01 - c01)                = 0
    #   r10: g(r10 - V1) + g(r10 - r11) + G10(r10 - c10) = 0
    #   r11: g(r11 - r10) + G11(r11 - c11)                = 0
    #   c00: G00(c00 - r00) + g(c00 - c10)                = 0
    #   c01: G01(c01 - r01) + g(c01 - c11)                = 0
    #   c10: G10(c10 - r10) + g(c10 - c00) + g c10        = 0
    #   c11: G11(c11 - r11) + g(c11 - c01) + g c11        = 0
    A = np.array([
        [2 * g + G00, -g, 0, 0, -G00, 0, 0, 0],
        [-g, g + G01, 0, 0, 0, -G01, 0, 0],
        [0, 0, 2 * g + G10, -g, 0, 0, -G10, 0],
        [0, 0, -g, g + G11, 0, 0, 0, -G11],
        [-G00, 0, 0, 0, G00 + g, 0, -g, 0],
        [0, -G01, 0, 0, 0, G01 + g, 0, -g],
        [0, 0, -G10, 0, -g, 0, G10 + 2 * g, 0],
        [0, 0, 0, -G11, 0, -g, 0, G11 + 2 * g],
    ])
    b = np.array([g * V0, 0, g * V1, 0, 0, 0, 0, 0])
    r00, r01, r10, r11, c00, c01, c10, c11 = np.linalg.solve(A, b)
    column = np.array([g * c10, g * c11])           # through the last segment into the TIA
    cell = G2 * np.array([[r00 - c00, r01 - c01], [r10 - c10, r11 - c11]])
    # sanity of the hand solution: each column current is the sum of its cells' currents
    np.testing.assert_allclose(column, cell.sum(axis=0), rtol=1e-12)
    ideal = G2.T @ np.array([V0, V1])
    assert np.all(column < ideal * 0.999)           # IR drop is visible at this r_wire
    for res in both_solvers(cmap, x, cfg):
        np.testing.assert_allclose(res.row_voltage, [[r00, r01], [r10, r11]], rtol=1e-9)
        np.testing.assert_allclose(res.col_voltage, [[c00, c01], [c10, c11]], rtol=1e-9)
        np.testing.assert_allclose(res.column_current, column, rtol=1e-9)
        np.testing.assert_allclose(res.cell_current, cell, rtol=1e-9)
        np.testing.assert_allclose(res.ideal_column_current, ideal, rtol=1e-12)
        np.testing.assert_allclose(res.mac_error, (column - ideal) / ideal.max(), rtol=1e-7)
        assert res.sneak_current == pytest.approx(np.abs(cell - G2 * [[V0], [V1]]).sum(),
                                                  rel=1e-7)


@requires_ngspice
def test_3x3_sense_resistors_sneak_current_by_hand():
    Rs, Vr = 2e3, 0.1
    G = np.array([[1 / 5e3, 1 / 12.5e3, 1 / 7e3],
                  [1 / 9e3, 1 / 5e3, 1 / 12.5e3],
                  [1 / 12.5e3, 1 / 6e3, 1 / 5e3]])
    cfg = CrossbarConfig(sensing="resistor", r_sense=Rs, v_read=Vr)
    cmap = ConductanceMap.from_conductances(G, cfg)
    x = np.array([1.0, 0.0, 0.5])
    V = np.array([0.1, 0.0, 0.05])
    # no wire resistance: column j is one node v_j; KCL at it:
    #   sum_i G_ij (V_i - v_j) = v_j / Rs   =>   v_j = sum_i G_ij V_i / (sum_i G_ij + 1/Rs)
    v = np.array([sum(G[i, j] * V[i] for i in range(3)) / (sum(G[:, j]) + 1 / Rs)
                  for j in range(3)])
    cell = np.array([[G[i, j] * (V[i] - v[j]) for j in range(3)] for i in range(3)])
    sneak = sum(abs(G[i, j] * v[j]) for i in range(3) for j in range(3))  # ideal is G V_i
    reverse = sum(G[1, j] * v[j] for j in range(3))  # row 1 sits at 0 V, below every column
    assert sneak > 1e-6 and reverse > 1e-7
    for res in both_solvers(cmap, x, cfg):
        np.testing.assert_allclose(res.col_voltage, np.repeat(v[None], 3, axis=0), rtol=1e-9)
        np.testing.assert_allclose(res.column_current, v / Rs, rtol=1e-9)
        np.testing.assert_allclose(res.cell_current, cell, rtol=1e-9, atol=1e-18)
        assert res.sneak_current == pytest.approx(sneak, rel=1e-9)
        assert res.reverse_current == pytest.approx(reverse, rel=1e-9)
        assert np.all(res.cell_current[1] < 0)      # current flows back into the 0 V row


@requires_ngspice
@pytest.mark.parametrize("solver", ["numpy", "spice"])
def test_single_cell_read_sneak_path(solver):
    cfg = CrossbarConfig(v_read=0.1)
    cmap = ConductanceMap.from_conductances(G2, cfg)
    R = 1 / G2
    # read cell (0, 0): row 1 and column 1 float, so R01 + R11 + R10 shunts the cell
    sneak_path = R[0, 1] + R[1, 1] + R[1, 0]
    expected = 1 / (1 / R[0, 0] + 1 / sneak_path)
    read = read_cell(cmap, 0, 0, cfg, solver=solver)
    assert read.r_measured == pytest.approx(expected, rel=1e-9)
    assert read.g_intended == pytest.approx(G2[0, 0])
    assert read.relative_error == pytest.approx(R[0, 0] / sneak_path, rel=1e-9)
    # the sneak current climbs from column 1 back into row 1 through cell (1, 1)
    i_sneak = 0.1 / sneak_path
    assert read.result.cell_current[1, 1] == pytest.approx(-i_sneak, rel=1e-9)
    assert read.result.reverse_current == pytest.approx(i_sneak, rel=1e-9)
    assert read.result.sneak_current == pytest.approx(3 * i_sneak, rel=1e-9)

    acc = CrossbarConfig(v_read=0.1, access=True, r_on=1e3, r_off=1e9)
    read_acc = read_cell(cmap, 0, 0, acc, solver=solver)
    assert read_acc.g_cell == pytest.approx(1 / (R[0, 0] + 1e3))
    assert abs(read_acc.relative_error) < 1e-5       # r_off isolates the unselected row
    assert abs(read.relative_error) > 0.1


def test_mac_error_grows_with_wire_resistance():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(8, 8))
    x = rng.uniform(0, 1, size=8)
    worst = [np.abs(solve_numpy(W, x, CrossbarConfig(r_wire=r)).mac_error).max()
             for r in [0.0, 0.5, 1.0, 2.0, 5.0, 10.0]]
    assert worst[0] < 1e-12
    assert all(b > a for a, b in zip(worst, worst[1:])), worst
    # and for a bigger array at the same wire resistance
    big = rng.normal(size=(32, 32))
    xb = rng.uniform(0, 1, size=32)
    assert np.abs(solve_numpy(big, xb, CrossbarConfig(r_wire=1.0)).mac_error).max() > worst[2]


def test_crossbar_mac_is_the_per_sample_solution():
    rng = np.random.default_rng(4)
    W = rng.normal(size=(4, 6))
    X = rng.uniform(-1, 1, size=(3, 6))
    cfg = CrossbarConfig(r_wire=3.0, sensing="resistor", access=True, differential=False)
    Y = crossbar_mac(W, X, cfg)
    for x, y in zip(X, Y):
        np.testing.assert_allclose(y, solve_numpy(W, x, cfg).output, rtol=1e-9)
    assert np.abs(Y - X @ W.T).max() > 1e-3          # the non-idealities are there
    np.testing.assert_allclose(effective_weights(W, cfg) @ X[0], Y[0], rtol=1e-9)


def test_layer_accuracy():
    rng = np.random.default_rng(5)
    W = rng.normal(size=(3, 10))
    X = rng.uniform(0, 1, size=(200, 10))
    labels = (X @ W.T).argmax(axis=1)

    def forward(inputs, mac):
        return mac(inputs)

    ideal = layer_accuracy(forward, W, X, labels, CrossbarConfig())
    assert ideal["ideal_accuracy"] == 1.0 and ideal["crossbar_accuracy"] == 1.0
    assert ideal["max_weight_error"] < 1e-12
    worse = layer_accuracy(forward, W, X, labels, CrossbarConfig(r_wire=20.0, sensing="resistor",
                                                                 r_sense=1e3))
    assert worse["max_weight_error"] > 1e-2
    assert worse["argmax_agreement"] == worse["crossbar_accuracy"] <= 1.0


def test_netlist_is_deterministic_and_complete():
    rng = np.random.default_rng(6)
    W, x = rng.normal(size=(2, 3)), rng.uniform(size=3)
    cfg = CrossbarConfig(r_wire=1.0, access=True, sensing="resistor")
    text = crossbar_netlist(W, x, cfg)
    assert text == crossbar_netlist(W.copy(), x.copy(), cfg)
    lines = text.splitlines()
    assert lines[0].startswith("*") and lines[-2:] == [".op", ".end"]
    # 3 rows x 4 device columns: 12 devices, 12 access, 12 row and 12 column segments, 4 sense
    assert sum(ln.startswith("Rd") for ln in lines) == 12
    assert sum(ln.startswith("Ra") for ln in lines) == 12
    assert sum(ln.startswith("Rrw") for ln in lines) == 12
    assert sum(ln.startswith("Rcw") for ln in lines) == 12
    assert sum(ln.startswith("Rs") for ln in lines) == 4
    assert sum(ln.startswith("Vs") for ln in lines) == 4
    assert sum(ln.startswith("Vin") for ln in lines) == 3


def test_report_and_plots(tmp_path):
    rng = np.random.default_rng(7)
    W, x = rng.normal(size=(4, 5)), rng.uniform(size=5)
    res = solve_numpy(W, x, CrossbarConfig(r_wire=2.0))
    text = report(res)
    assert len(text.splitlines()) == 4 + 3
    assert "sneak current" in text and "worst MAC error" in text
    worst = 100 * np.abs(res.mac_error).max()
    assert f"{worst:.4f} %" in text
    for path in [plot_current_map(res, str(tmp_path / "map.png")),
                 plot_mac_error_sweep([8, 16, 32], [0.01, 0.02, 0.05], "array size",
                                      str(tmp_path / "sweep.png")),
                 plot_mac_error_sweep([1.5, 2.5], {"a": [0.1, 0.05], "b": [0.2, 0.1]},
                                      "ON/OFF ratio", str(tmp_path / "ratio.png"))]:
        with open(path, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kwargs, message", [
    (dict(on_off=1.0), "on_off"),
    (dict(on_off=0.5), "on_off"),
    (dict(r_wire=-1.0), "r_wire"),
    (dict(r_sense=0.0), "r_sense"),
    (dict(v_read=float("nan")), "v_read"),
    (dict(sensing="virtual"), "sensing"),
    (dict(differential="yes"), "differential"),
    (dict(rows=0), "rows"),
    (dict(access=True, r_on=1e6, r_off=1e3), "r_off"),
])
def test_bad_config_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CrossbarConfig(**kwargs)


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match="does not fit"):
        weights_to_conductances(np.ones((3, 4)), CrossbarConfig(rows=4, cols=4))  # needs 6 cols
    with pytest.raises(ValueError, match="does not fit"):
        weights_to_conductances(np.ones((2, 5)), CrossbarConfig(rows=4, cols=4))
    W = np.ones((2, 2))
    W[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"non-finite.*\(1, 0\)"):
        weights_to_conductances(W)
    with pytest.raises(ValueError, match="2-D"):
        weights_to_conductances(np.ones(3))
    with pytest.raises(ValueError, match="inputs"):
        solve_numpy(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match="non-finite"):
        solve_numpy(np.ones((2, 3)), np.array([1.0, np.inf, 0.0]))
    with pytest.raises(ValueError, match="outside"):
        read_cell(np.ones((2, 2)), 2, 0)


def test_solver_registry_names_two_solvers_of_one_shape():
    assert sorted(SOLVERS) == ["numpy", "spice"]
    for solver in SOLVERS.values():
        assert callable(getattr(solver, "solve", None))
    with pytest.raises(ValueError, match="'numpy' or 'spice'"):
        read_cell(np.ones((2, 2)), 0, 0, solver="xyce")


@requires_ngspice
def test_registered_solvers_agree_on_a_small_array():
    # wires, access transistors, sense resistors and a floating row: every element kind
    cfg = CrossbarConfig(r_wire=3.0, access=True, sensing="resistor", r_sense=500.0, rows=4)
    cmap = weights_to_conductances(np.array([[0.5, -1.0, 0.25], [-0.75, 0.1, 1.0]]), cfg)
    drive = np.array([0.1, -0.04, 0.07, np.nan])    # row 3 (unused) floats, its access is off
    circ = _build_circuit(cmap.G, cfg, drive, np.ones(cmap.G.shape[1], bool),
                          np.array([True, True, True, False]))
    solutions = {name: solver.solve(circ, "registry check") for name, solver in SOLVERS.items()}
    numpy_sol, spice_sol = solutions["numpy"], solutions["spice"]
    assert numpy_sol.netlist is None and spice_sol.netlist.startswith("* registry check\n")
    # the floating row hangs on 1 GOhm access resistors, where ngspice's gmin (1e-12 S to ground
    # at every node) moves its voltage by ~1e-8 relative; every other node agrees to ~1e-12
    np.testing.assert_allclose(spice_sol.volts, numpy_sol.volts, rtol=1e-7, atol=1e-15)
    np.testing.assert_allclose(spice_sol.column_current, numpy_sol.column_current, rtol=1e-9,
                               atol=1e-18)
    assert np.abs(numpy_sol.column_current).min() > 1e-7    # every column carries current
