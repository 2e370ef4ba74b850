import numpy as np
import pytest
import torch

from spintronic.models import ResonatorParams, resonator

PRM = ResonatorParams()


def test_antisymmetric_lorentzian_peaks_at_plus_minus_linewidth():
    f_r = torch.tensor(1e9, dtype=torch.float64)
    D = PRM.alpha * 1e9
    f = f_r + torch.tensor([-D, 0.0, D], dtype=torch.float64)
    v = resonator.rectified_voltage(torch.tensor(1e-6), f, f_r, PRM)
    # 8.8388 mV per uW at the extremes (K_SD x 1 uW), zero at resonance, sign set by the side
    peak = 1e-6 / (8 * np.sqrt(2)) / 10e-6
    assert v.tolist() == pytest.approx([-peak, 0.0, peak], rel=1e-6)  # P_in is float32
    fine = f_r + torch.linspace(-5 * D, 5 * D, 2001, dtype=torch.float64)
    v = resonator.rectified_voltage(torch.tensor(1e-6), fine, f_r, PRM)
    assert float(v.max()) == pytest.approx(peak, rel=1e-6)
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


def test_exact_response_is_the_lorentzian_plus_the_counter_rotating_offset():
    """The non-rotating-wave DC weight of one resonator near resonance: the Lorentzian plus the
    counter-rotating shift -2 alpha f_r / (f + f_r) ~ -alpha of the peak, at every detuning."""
    f64 = dict(dtype=torch.float64)
    for alpha in (1e-2, 1e-3):
        prm = PRM.replace(alpha=alpha)
        f_r = 1e9
        f = f_r + np.linspace(-5, 5, 201) * alpha * f_r
        exact = resonator.dc_weight(resonator.resonator_response(f, f_r, prm), prm)
        lor = resonator.lorentzian(torch.tensor(f, **f64), torch.tensor(f_r, **f64), prm).numpy()
        peak = resonator.peak_weight(prm)
        assert peak == pytest.approx(PRM.K_SD, rel=1e-6)  # antisymmetric: K_SD at one linewidth
        shift = -2 * alpha * f_r / (f + f_r)
        assert np.allclose((exact - lor) / peak, shift, rtol=10 * alpha ** 2, atol=0)
        # the symmetric term has no counter-rotating offset to first order
        sym = prm.replace(a_sym=1.0, a_asym=0.0)
        e_sym = resonator.dc_weight(resonator.resonator_response(f, f_r, sym), sym)
        l_sym = resonator.lorentzian(torch.tensor(f, **f64), torch.tensor(f_r, **f64), sym).numpy()
        assert np.abs(e_sym - l_sym).max() < 0.01 * alpha * resonator.peak_weight(sym)


def test_series_response_follows_the_chain_orientations():
    f = np.array([0.99e9, 1e9, 1.02e9])
    assert [resonator.orientation(k) for k in range(5)] == resonator.chain_signs(5).tolist()
    one = resonator.resonator_response(f, 1.01e9, PRM)
    assert np.allclose(resonator.series_response(f, [1.01e9, 1.01e9], (1, -1), PRM), 0.0)
    two = resonator.series_response(f, [1.01e9, 1.03e9], (1, -1), PRM)
    assert np.allclose(two, one - resonator.resonator_response(f, 1.03e9, PRM), rtol=1e-12)
    assert resonator.two_pole(3e6, 3e6) == pytest.approx(0.5)
