import math
import re

import numpy as np
import pytest
import torch

from spintronic.models import ResonatorParams, resonator
from spicegen import crosstalk as xt
from spicegen.crosstalk import CrosstalkSetup
from spicegen.crosstalk.deck import _deck
from spicegen.crosstalk.guideline import _layer_error

from .conftest import requires_ngspice

TWO_PI = 2 * math.pi


@pytest.fixture(scope="module")
def small():
    """3 channels 8 linewidths apart near 1 GHz, one resonator per channel one linewidth above it,
    plus a two-resonator chain mounted head-to-tail (alternating orientations)."""
    base = CrosstalkSetup.layer(3, 8.0)
    chains = list(base.chains) + [[base.chains[0][0], base.chains[2][0]]]
    setup = CrosstalkSetup(base.freqs, [1e-6, 2e-6, 0.5e-6], chains)
    return setup, xt.measure_crosstalk(setup)


@requires_ngspice
def test_weak_drive_matrix_matches_lorentzian_within_5_percent_of_max(small, tmp_path):
    setup, r = small
    assert r.measured.shape == (4, 3) and r.n_runs == 4
    # the stated target: every entry within 5 % of the largest entry (measured 1.1 %)
    assert r.error_of_max < 0.05
    assert np.array_equal(np.sign(r.measured), np.sign(r.surrogate))
    # what is left is the counter-rotating drive: ~ -alpha x peak on every entry, which the exact
    # linear response of the rf oscillator reproduces to numerical precision
    assert r.rwa_offset == pytest.approx(-setup.prm.alpha, rel=0.1)
    assert r.error_of_max_exact < 0.002
    # so large entries hold per entry, but the far tails do not (the RWA offset is a larger
    # fraction of a small entry): the report must say so
    assert r.error_per_entry(0.2) < 0.05
    assert r.error_per_entry(0.01) > 0.05
    assert r.error_per_entry(0.01, "exact") < 0.02
    text = r.report()
    assert "rotating wave" in text and "HOLDS" in text and "of the max entry" in text
    path = r.plot(str(tmp_path / "ct.png"))
    assert (tmp_path / "ct.png").stat().st_size > 10_000 and path.endswith("ct.png")


@requires_ngspice
def test_superposition_error_grows_when_corner_reaches_the_spacing(small):
    setup, low = small
    beat = min(b for *_, b in setup.beats)
    high = xt.measure_crosstalk(CrosstalkSetup(setup.freqs, setup.powers, setup.chains,
                                               lp_ratio=1.5 * beat / min(setup.freqs)))
    dc_low, peak_low = low.superposition_rel
    dc_high, peak_high = high.superposition_rel
    # mixing products are tones: the DC level superposes in both cases
    assert dc_low < 2e-3 and dc_high < 1e-2
    # the ripple a next layer sees: small far below the spacing, of the order of the signal above
    assert peak_low < 0.05
    assert peak_high > 10 * peak_low and peak_high > 0.3
    for r in (low, high):  # bounded by the linear-response beats through the two-pole low-pass
        assert np.all(r.superposition_peak <= 1.05 * r.beat_bound)
        assert np.all(r.superposition_peak >= 0.2 * r.beat_bound)
    assert "FAILS" in high.diagnosis()[1] and "HOLDS" in low.diagnosis()[1]


@requires_ngspice
def test_beat_ripple_follows_two_pole_attenuation(tmp_path):
    b = xt.beat_note_sweep((0.2, 1.0, 3.0), spacing=8.0)
    ratio = b.attenuation / b.two_pole
    assert np.all((ratio > 1 / 1.5) & (ratio < 1.5)), ratio
    assert np.allclose(ratio, 1.0, atol=0.05)
    assert np.allclose(b.unfiltered_ptp, b.unfiltered_predicted, rtol=0.03)
    assert np.all(np.diff(b.ripple_ptp) > 0)  # a higher corner lets more ripple through
    # the fixed step warps the emitted carriers, so the simulated beat is below f_i - f_j
    assert 0.85 * b.f_beat < b.f_beat_sim < b.f_beat
    assert "two-pole" in b.report()
    b.plot(str(tmp_path / "beat.png"))
    assert (tmp_path / "beat.png").exists()


@requires_ngspice
def test_pulling_moves_frequency_and_rf_follows_the_pulled_lorentzian(tmp_path):
    Ns = [0.0, TWO_PI * 5e6, TWO_PI * 20e6]
    p = xt.pulling(Ns)
    assert p.max_shift[0] == 0 and np.all(np.diff(p.max_shift) > 0)
    assert p.max_shift[2] == pytest.approx(20e6 * 0.5 / 1)  # p0 = 3/6 at 4 I_th
    assert np.all(np.diff(np.abs(p.weight_error).max(axis=1)) > 0)
    assert "weight error" in p.report()
    p.plot(str(tmp_path / "pull.png"))

    c = xt.pulling_rf_check([TWO_PI * 12.5e6])  # shift 5 MHz = half a linewidth at p0 = 0.4
    assert c.f_measured[0] - c.f0 == pytest.approx(c.f_pulled[0] - c.f0, rel=0.05)
    assert bool(c.closer_to_pulled[0])
    assert abs(c.v_measured[0] - c.v_pulled[0]) < 0.05 * abs(c.v_pulled[0])
    assert abs(c.v_measured[0] - c.v_exact[0]) < 0.01 * abs(c.v_exact[0])
    assert "pulled" in c.report()


@requires_ngspice
def test_guideline_min_spacing_is_monotone_and_rf_agrees(tmp_path):
    g = xt.spacing_guideline(0.1, n_channels=4, spacings=(2, 5, 12, 30), rf_spacings=(8,))
    bounds = [0.06, 0.1, 0.2, 0.5, 1.0, 2.0]
    mins = [g.min_spacing_for(b) for b in bounds]
    assert mins[0] is None  # below the floor of the antisymmetric tails
    assert g.floor > 0.06
    got = [m for m in mins if m is not None]
    assert len(got) == len(bounds) - 1 and all(a > b for a, b in zip(got, got[1:]))
    assert _layer_error(g.min_spacing, g) == pytest.approx(0.1, rel=1e-3)
    assert np.all(np.diff(g.error) < 0)
    lor, measured, exact = g.rf[8.0]
    assert measured == pytest.approx(exact, rel=0.01)
    assert measured == pytest.approx(lor, rel=0.1)
    assert "minimum spacing for 10 %" in g.report()
    g.plot(str(tmp_path / "guide.png"), bounds=bounds)


def test_surrogate_is_chain_weights_and_linear_response_is_its_rwa_limit():
    f = [1e9, 1.05e9, 1.1e9]
    chains = [[1.01e9, 1.06e9], [1.02e9, 1.09e9]]
    s = CrosstalkSetup(f, [1e-6] * 3, chains)
    ref = resonator.chain_weights(torch.tensor(f, dtype=torch.float64),
                                  torch.tensor(chains, dtype=torch.float64), s.prm).numpy()
    assert np.allclose(xt.surrogate_matrix(s), ref, rtol=1e-12)
    flipped = CrosstalkSetup(f, [1e-6] * 3, chains, orientations=[[-1, 1], [1, 1]])
    W = xt.surrogate_matrix(flipped)
    assert np.allclose(W[0], -ref[0]) and not np.allclose(W[1], ref[1])
    # the non-rotating-wave response tends to the Lorentzian as alpha -> 0
    for alpha in (1e-2, 1e-3):
        s = CrosstalkSetup(f, [1e-6] * 3, chains, prm=ResonatorParams(alpha=alpha))
        err = np.abs(xt.linear_response(s) - xt.surrogate_matrix(s)).max()
        assert err / np.abs(xt.surrogate_matrix(s)).max() < 2.5 * alpha


def test_deck_is_deterministic_and_starts_carriers_at_zero():
    s = CrosstalkSetup.layer(3, 8.0)
    a = _deck(s, [0, 1, 2], s.powers)
    assert a == _deck(s, [0, 1, 2], s.powers) and a.endswith(".end\n")
    assert a.count("*sin(") == 3 and "mtj_prec" in a and "readout_lp" in a
    cos = CrosstalkSetup.layer(3, 8.0, carrier="cos")
    assert _deck(cos, [0], cos.powers).count("*cos(") == 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(freqs=[-1e9, 1.1e9]), "freqs"),
    (dict(freqs=[float("nan"), 1.1e9]), "finite"),
    (dict(freqs=[1e9, 1e12]), "device range"),
    (dict(freqs=[1e3, 1.1e9]), "device range"),
    (dict(powers=[1e-6, -1e-6]), "powers"),
    (dict(powers=[0.0, 0.0]), "at least one"),
    (dict(powers=[1e-6]), "powers"),
    (dict(chains=[]), "chains is empty"),
    (dict(chains=[[1e9], []]), r"chains\[1\] is empty"),
    (dict(chains=[[0.0]]), r"chains\[0\]"),
    (dict(lp_ratio=0.0), "lp_ratio"),
    (dict(lp_ratio=1.0), "lp_ratio"),
    (dict(lp_ratio=-0.1), "lp_ratio"),
    (dict(orientations=[[2]]), "orientations"),
    (dict(settle_tau=0), "settle_tau"),
    (dict(points_per_period=4), "points per period"),
    (dict(carrier="square"), "carrier"),
    (dict(freqs=[1e9, 1e9 + 1e-3]), "fixed steps"),
])
def test_bad_inputs_raise_value_error(kwargs, match):
    args = dict(freqs=[1e9, 1.1e9], powers=[1e-6, 1e-6], chains=[[1.01e9]])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        CrosstalkSetup(**args)


def test_bad_sweep_arguments_raise_value_error():
    with pytest.raises(ValueError, match="bound"):
        xt.spacing_guideline(0.0)
    with pytest.raises(ValueError, match="metric"):
        xt.spacing_guideline(0.05, metric="rms")
    with pytest.raises(ValueError, match="grid"):
        xt.spacing_guideline(0.05, grid="log")
    with pytest.raises(ValueError, match="spacings"):
        xt.spacing_guideline(0.05, spacings=(0, 1))
    with pytest.raises(ValueError, match="n_channels"):
        xt.spacing_guideline(0.05, n_channels=1)
    with pytest.raises(ValueError, match="lp_ratio"):
        xt.beat_note_sweep((100.0,))
    with pytest.raises(ValueError, match="corner_over_beat"):
        xt.beat_note_sweep((-1.0,))
    with pytest.raises(ValueError, match="z = I / I_th"):
        xt.pulling_rf_check([0.0], z=0.5)
    with pytest.raises(ValueError, match="workers"):
        xt.measure_crosstalk(CrosstalkSetup.layer(2, 8.0), workers=0)
    with pytest.raises(ValueError, match="square"):
        xt.crosstalk_error(np.ones((2, 3)))
    with pytest.raises(ValueError, match="device range"):
        xt.pulling([TWO_PI * 1e12])


def test_crosstalk_command_on_a_trained_layer(small_rf, tmp_path, capsys):
    """`spicegen crosstalk --graph`: part of a trained layer (2 hidden oscillators, 2 output
    chains of 8 resonators) at rf fidelity, against the Lorentzian weights the surrogate uses."""
    from spintronic.graph import schema
    from spicegen.cli import main
    from spintronic.networks import to_graph

    path = str(tmp_path / "rf.json")
    schema.save(to_graph(small_rf[0]), path)
    assert main(["crosstalk", "--graph", path, "--layer", "2", "--inputs", "0,1",
                 "--chain-index", "0,1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    err = float(re.search(r"max error vs Lorentzian: ([\d.]+) % of the max entry", out).group(1))
    assert err < 5.0
    assert (tmp_path / "matrix.png").exists()
    assert main(["crosstalk", "--graph", path, "--layer", "2", "--inputs", "0,99"]) == 2
    assert "inputs" in capsys.readouterr().err


@requires_ngspice
def test_cancelling_chains_print_no_nan_and_a_failing_superposition_heads_the_figure(
        monkeypatch, tmp_path):
    """Head-to-tail chains of two resonators (orientations +1, -1 sum to 0) have no net
    counter-rotating shift: the report says n/a, not '+nan %'. With the read-out corner above the
    beat, superposition fails while the single-drive matrix looks fine: the figure's title shows
    the failing superposition figure, not the matrix error."""
    import dataclasses

    from spicegen.crosstalk import matrix
    base = CrosstalkSetup.layer(2, 8.0)
    pair = [base.chains[0][0], base.chains[1][0]]
    beat = min(b for *_, b in base.beats)
    setup = CrosstalkSetup(base.freqs, [1e-6, 1e-6], [pair, pair[::-1]],
                           lp_ratio=1.5 * beat / min(base.freqs))
    r = xt.measure_crosstalk(setup)
    assert all(sum(o) == 0 for o in setup.orientations) and math.isnan(r.rwa_offset)
    text = r.report()
    assert "nan" not in text.lower() and "n/a (every chain's orientations cancel" in text
    peak = r.superposition_rel[1]
    assert r.error_of_max < matrix.SUPERPOSITION_BOUND < peak and r.superposition_fails
    titles = []
    monkeypatch.setattr(matrix, "save", lambda fig, path: titles.append(fig._suptitle.get_text())
                        or path)
    r.plot(str(tmp_path / "m.png"))
    assert titles == [r.title()]
    assert titles[0].startswith("rf crosstalk FAILS superposition") and \
        f"{100 * peak:.1f} % of the largest chain signal" in titles[0]
    assert json_safe(r.to_dict())["superposition_fails"] is True
    # a check that passes keeps the matrix error as the headline
    calm = dataclasses.replace(r, superposition_peak=np.zeros(2))
    assert not calm.superposition_fails and calm.title().startswith("rf crosstalk: single-drive")
    # single drives only: the assumption table says n/a where nothing was measured
    single = dataclasses.replace(r, v_all=None, superposition_dc=None, superposition_peak=None,
                                 beat_bound=None)
    table = xt.format_assumptions([("single", single)])
    assert "nan" not in table.lower() and "n/a (not measured)" in table
    assert single.to_dict()["superposition_peak"] is None


def json_safe(obj):
    import json
    return json.loads(json.dumps(obj))
