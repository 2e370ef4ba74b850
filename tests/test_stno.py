import math

import pytest
import torch

from spintronic.models import STNOParams, stno

PRM = STNOParams()


def logistic_exact(p0, z, t, prm):
    a = 2 * prm.Gg * (z - 1)
    b = 2 * prm.Gg * (z + prm.Q)
    return a * p0 * math.exp(a * t) / (a + b * p0 * (math.exp(a * t) - 1))


@pytest.mark.parametrize("z, p_start", [(3.0, 0.05), (1.5, 0.4), (0.5, 0.3), (2.0, 1e-4)])
def test_power_step_is_the_exact_solution(z, p_start):
    current = torch.tensor(z * PRM.I_th, dtype=torch.float64)
    p = torch.tensor(p_start, dtype=torch.float64)
    for _ in range(20):
        p = stno.power_step(p, current, 2e-9, PRM)
    assert float(p) == pytest.approx(logistic_exact(p_start, z, 40e-9, PRM), rel=1e-9)


def test_step_size_does_not_change_the_answer():
    currents = torch.tensor([3.0, 0.7, 2.2], dtype=torch.float64) * PRM.I_th
    answers = []
    for dt in (20e-9, 1e-9, 0.05e-9):
        n = int(round(20e-9 / dt))
        seq = currents.repeat_interleave(n)
        answers.append(stno.simulate_power(torch.tensor(0.2, dtype=torch.float64), seq, dt, PRM)[-1])
    assert float(answers[0]) == pytest.approx(float(answers[1]), rel=1e-9)
    assert float(answers[0]) == pytest.approx(float(answers[2]), rel=1e-9)


def test_steady_state_and_relaxation_time():
    current = torch.tensor([0.5, 2.0, 4.0]) * PRM.I_th
    p0 = stno.steady_power(current, PRM)
    assert p0.tolist() == pytest.approx([0.0, 0.25, 0.5])
    tau = stno.relaxation_time(current, PRM)
    assert tau.tolist() == pytest.approx([1 / (2 * PRM.Gg * z) for z in (0.5, 1.0, 3.0)])


def test_gradient_is_finite_at_threshold_and_p_stays_nonnegative():
    current = torch.tensor([PRM.I_th, 0.2 * PRM.I_th], dtype=torch.float64, requires_grad=True)
    p = stno.power_step(torch.tensor([0.3, 1e-3], dtype=torch.float64), current, 1e-6, PRM)
    p.sum().backward()
    assert torch.isfinite(current.grad).all()
    assert (p >= 0).all()
    # a huge step far below threshold must decay, not overshoot below zero
    p = stno.power_step(torch.tensor(0.5), torch.tensor(0.0), 1.0, PRM)
    assert 0 <= float(p) < 1e-12


def test_emitted_power_frequency_and_clamp():
    p = torch.tensor(0.5)
    assert float(stno.emitted_power(p, torch.tensor(40e-6), PRM)) == pytest.approx(1e-6)
    prm = PRM.replace(N=2 * math.pi * 1e8)
    assert float(stno.frequency(p, prm)) == pytest.approx(1e9 + 0.5e8)
    clamped = stno.clamp_current(torch.tensor([0.0, 25e-6, 1e-3]), PRM)
    assert clamped.tolist() == pytest.approx([10e-6, 25e-6, 40e-6])


def test_bad_time_step_and_initial_power():
    with pytest.raises(ValueError, match="dt"):
        stno.power_step(torch.tensor(0.1), torch.tensor(2e-5), 0.0, PRM)
    with pytest.raises(ValueError, match="initial power"):
        stno.initial_condition("x1", 1.5, "envelope")
    with pytest.raises(ValueError, match="fidelity"):
        stno.spice_subckt(PRM, "carrier")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_long_steps_stay_finite_and_exact(dtype):
    currents = torch.tensor([4.0, 0.3, 1.0 + 1e-9, 2.0], dtype=dtype) * PRM.I_th
    p0 = torch.tensor([0.2, 0.2, 0.2, 1e-6], dtype=dtype, requires_grad=True)
    p = stno.power_step(p0, currents, 1.0, PRM)          # a second: 1e8 relaxation times
    assert torch.isfinite(p).all()
    assert p.tolist() == pytest.approx([0.5, 0.0, 0.0, 0.25], abs=1e-6)
    p.sum().backward()
    assert torch.isfinite(p0.grad).all()


def test_no_steady_power_below_zero_current():
    p0 = stno.steady_power(torch.tensor([-30e-6, 0.0, 10e-6]), PRM)
    assert p0.tolist() == [0.0, 0.0, 0.0]


def test_device_instances_write_what_the_compilers_write():
    """The cards the network compilers write by hand today, from the one parameter-name map."""
    from spintronic.models import get_device
    from spintronic.models.params import spice_number as num
    dev = get_device("stno")
    prm = STNOParams(f0=1.234e9, N=3e8, Q=1.5)
    attrs = {**prm.as_dict(), "kind": "stno", "layer": 1, "index": 0, "attenuation": 0.5}
    mapped = (f"f0={num(prm.f0)} gg={num(prm.Gg)} qnl={num(prm.Q)} ith={num(prm.I_th)} "
              f"rdev={num(prm.R)} kp={num(prm.k_P)} nshift={num(prm.N)} zload={num(prm.Z0)}")
    env = dev.instance("Xs1_0", {"in": "in1_0", "p": "p1_0", "pw": "pw1_0", "df": "df1_0"},
                       params=attrs)
    assert env == f"Xs1_0 in1_0 p1_0 pw1_0 df1_0 stno_env params: {mapped}"
    rf = dev.instance("Xs1_0", {"in": "in1_0", "out": "rf1_0", "p": "p1_0"}, params=attrs,
                      fidelity="rf")
    assert rf == f"Xs1_0 in1_0 rf1_0 p1_0 stno_rf params: {mapped}"
    # the sequence networks' neuron: four device parameters and the reset's two
    seq = dev.instance("Xs2_3", {"in": "in2_3", "p": "p2_3", "rst": "rst", "run": "run"},
                       subckt="stno_seq",
                       spice={**dev.spice_values(prm, ("I_th", "Gg", "Q", "R")),
                              "prst": 0.002, "krst": 2 / 1e-10})
    assert seq == (f"Xs2_3 in2_3 p2_3 rst run stno_seq params: ith={num(prm.I_th)} "
                   f"gg={num(prm.Gg)} qnl={num(prm.Q)} rdev={num(prm.R)} prst=0.002 "
                   f"krst={num(2 / 1e-10)}")
    assert stno.spice_subckt(prm, "rf") == dev.subckt("rf", prm).text
