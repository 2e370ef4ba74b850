"""Decks as data: each card renders exactly as the hand-written cards did, and a whole Deck runs."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spicegen import SpiceError, run_netlist
from spicegen import rfstep
from spicegen.deck import AC, DC, IC, Deck, Op, Options, Tran, compact, number
from spintronic.models.params import spice_number

from .conftest import requires_ngspice

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30)
positive = st.floats(min_value=1e-18, max_value=1e3, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(finite)
def test_numbers_round_trip_and_match_the_models_formatter(x):
    assert number(x) == spice_number(x)
    assert float(compact(x)) == x and len(compact(x)) <= len(number(x))


def test_compact_option_values():
    assert [compact(v) for v in (1e-6, 1e-15, 1e9, 0.02, 1e-4, 5, 1.5, -2e-7)] == \
        ["1e-6", "1e-15", "1e9", "0.02", "1e-4", "5", "1.5", "-2e-7"]


def test_options_render_as_the_hand_written_cards():
    # the cards twins.py, compiler.py, crosstalk.py and dynamical.py wrote by hand
    assert Options(reltol=1e-6, abstol=1e-15, vntol=1e-12).render() == \
        ".options reltol=1e-6 abstol=1e-15 vntol=1e-12"
    assert Options(reltol=1e-6, vntol=1e-12).render() == ".options reltol=1e-6 vntol=1e-12"
    assert Options(method="trap", trtol=1e9, reltol=1e-4, abstol=1e-15, vntol=1e-12).render() \
        == ".options method=trap trtol=1e9 reltol=1e-4 abstol=1e-15 vntol=1e-12"
    assert Options(seed=7).render() == ".options seed=7"
    assert Options({"noacct": True, "gmin": None, "klu": False}, itl4=50).render() == \
        ".options noacct itl4=50"
    assert not Options() and not Options(gmin=None)


@settings(max_examples=200, deadline=None)
@given(positive, st.floats(min_value=1.0, max_value=1e9))
def test_tran_renders_as_the_hand_written_card(h, n):
    t_stop = h * n
    num = spice_number
    assert Tran(h, t_stop, 0, h).render() == f".tran {num(h)} {num(t_stop)} 0 {num(h)}"
    assert rfstep.cards(h, t_stop) == [".options method=trap trtol=1e9",
                                       f".tran {num(h)} {num(t_stop)} 0 {num(h)}"]


def test_analysis_cards():
    assert Tran(1e-11, 1e-8).render() == ".tran 1e-11 1e-08"
    assert Tran(1e-9, 2e-6, 1e-6).render() == ".tran 1e-09 2e-06 1e-06"
    assert Tran(1e-9, 1e-6, uic=True).render() == ".tran 1e-09 1e-06 uic"
    assert str(Op()) == ".op"
    assert DC("Vu", -5.0, 5.0, 0.02).render() == ".dc Vu -5 5 0.02"
    assert DC("Vpos", -0.2, 1.2, 0.01).render() == ".dc Vpos -0.2 1.2 0.01"
    assert DC("V1", 0, 1, 0.5, inner=("V2", 0, 2, 1)).render() == ".dc V1 0 1 0.5 V2 0 2 1"
    assert AC("dec", 10, 1.0, 1e6).render() == ".ac dec 10 1 1000000"
    assert IC({"x1.x": 0.0, "x1.y": 0.5}).render() == ".ic v(x1.x)=0 v(x1.y)=0.5"
    with pytest.raises(ValueError, match="step > 0"):
        Tran(0, 1e-6)
    with pytest.raises(ValueError, match="dec, oct or lin"):
        AC("log", 10, 1, 10)


def test_deck_renders_in_order_with_the_trailing_newline():
    deck = Deck("rc", elements=["V1 in 0 1", "R1 in out 1k", "C1 out 0 1p"],
                subckts=[".subckt foo a b\nR1 a b 1\n.ends"], includes=["lib.cir", "my lib.cir"],
                ics=[IC({"out": 0.0})], saves=[f"v(n{k})" for k in range(12)],
                options=Options(reltol=1e-6), analysis=[Op(), Tran(1e-11, 1e-8)])
    assert deck.render() == "\n".join([
        "* rc", ".include lib.cir", '.include "my lib.cir"', ".subckt foo a b\nR1 a b 1\n.ends",
        "V1 in 0 1", "R1 in out 1k", "C1 out 0 1p", ".ic v(out)=0",
        ".save " + " ".join(f"v(n{k})" for k in range(10)), ".save v(n10) v(n11)",
        ".options reltol=1e-6", ".op", ".tran 1e-11 1e-08", ".end"]) + "\n"
    # the twins' _deck(title, *blocks) layout: blocks as given, nothing added
    assert Deck("* t", elements=["R1 1 0 1", ".options seed=1", ".op"]).render() == \
        "* t\nR1 1 0 1\n.options seed=1\n.op\n.end\n"
    with pytest.raises(ValueError, match="dialect 'xyce'"):
        deck.render("xyce")
    with pytest.raises(ValueError, match="one line"):
        Deck("two\nlines")


@requires_ngspice
def test_a_deck_runs_and_its_limits_are_checked():
    deck = Deck("rc step", elements=["V1 in 0 PWL(0 0 1n 1)", "R1 in out 1k", "C1 out 0 1p"],
                options=Options(reltol=1e-6), analysis=Tran(10e-12, 10e-9))
    res = run_netlist(deck)
    t, v = res.scale, res["out"]
    late = t > 3e-9
    assert np.allclose(v[late], 1 - (math.e - 1) * np.exp(-t[late] / 1e-9), atol=2e-3)
    with pytest.raises(SpiceError, match="max_points"):
        run_netlist(Deck("rc", elements=deck.elements, analysis=Tran(1e-18, 10e-9)))
