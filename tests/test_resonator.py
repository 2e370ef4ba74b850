import pytest
import torch

from spintronic.models import ResonatorParams, resonator

PRM = ResonatorParams()


def test_antisymmetric_lorentzian_peaks_at_plus_minus_linewidth():
    f_r = torch.tensor(1e9, dtype=torch.float64)
    D = PRM.alpha * 1e9
    f = f_r + torch.tensor([-D, 0.0, D], dtype=torch.float64)
    v = resonator.rectified_voltage(torch.tensor(1e-6), f, f_r, PRM)
    # 8.84 mV per uW at the extremes, zero at resonance, sign set by the side
    assert v.tolist() == pytest.approx([-8.84e-3, 0.0, 8.84e-3])
    fine = f_r + torch.linspace(-5 * D, 5 * D, 2001, dtype=torch.float64)
    v = resonator.rectified_voltage(torch.tensor(1e-6), fine, f_r, PRM)
    assert float(v.max()) == pytest.approx(8.84e-3, rel=1e-6)
    assert float(fine[v.argmax()] - f_r) == pytest.approx(D, rel=1e-2)


def test_symmetric_term():
    prm = PRM.replace(a_sym=1.0, a_asym=0.0)
    v = resonator.rectified_voltage(torch.tensor(1e-6), torch.tensor(1e9), torch.tensor(1e9), prm)
    assert float(v) == pytest.approx(1e-6 * prm.K_SD)


def test_units_cancel_hz_or_ghz():
    f64 = dict(dtype=torch.float64)
    v_hz = resonator.lorentzian(torch.tensor(1.004e9, **f64), torch.tensor(1e9, **f64), PRM)
    v_ghz = resonator.lorentzian(torch.tensor(1.004, **f64), torch.tensor(1.0, **f64), PRM)
    assert float(v_hz) == pytest.approx(float(v_ghz), rel=1e-12)


def test_chain_voltage_matches_explicit_sum_and_is_differentiable():
    torch.manual_seed(0)
    freqs = torch.linspace(0.9e9, 1.1e9, 6, dtype=torch.float64)
    powers = torch.rand(4, 6, dtype=torch.float64) * 1e-6
    f_r = (1e9 + 1e8 * (torch.rand(3, 5, dtype=torch.float64) - 0.5)).requires_grad_()
    v = resonator.chain_voltage(powers, freqs, f_r, PRM)
    expected = torch.zeros(4, 3, dtype=torch.float64)
    for j in range(3):
        for k in range(5):
            expected[:, j] += (-1) ** k * (powers * resonator.lorentzian(freqs, f_r[j, k], PRM)).sum(-1)
    assert torch.allclose(v, expected, rtol=1e-12, atol=0)
    per_sample = resonator.chain_voltage(powers, freqs.expand(4, 6), f_r, PRM)
    assert torch.allclose(per_sample, expected, rtol=1e-12, atol=0)
    v.sum().backward()
    assert torch.isfinite(f_r.grad).all() and f_r.grad.abs().sum() > 0


def test_mixing_coefficients_and_validation():
    bs, ba = resonator.mixing_coefficients(PRM.replace(a_sym=0.5))
    assert bs == pytest.approx(2 * PRM.K_SD * 0.5 * PRM.Z0)
    assert ba == pytest.approx(4 * PRM.K_SD * PRM.Z0)
    with pytest.raises(ValueError, match="lp_ratio"):
        ResonatorParams(lp_ratio=0.6)


def test_rf_model_warns_outside_the_rotating_wave_limit():
    with pytest.warns(RuntimeWarning, match="rotating-wave"):
        resonator.spice_subckt(ResonatorParams(alpha=0.05), "rf")
