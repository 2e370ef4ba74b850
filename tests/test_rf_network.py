import numpy as np
import pytest
import torch

from spintronic.models import resonator, stno
from spintronic.training.rf_network import FrequencyGrid, RFNetwork, RFNetworkConfig


def test_frequency_grids():
    lin = FrequencyGrid(1e9, 2e9, 5, "linear").frequencies
    assert np.allclose(np.diff(lin), 0.25e9)
    geo = FrequencyGrid(0.02e9, 0.12e9, 64).frequencies
    ratios = geo[1:] / geo[:-1]
    assert np.allclose(ratios, ratios[0]) and geo[0] == 0.02e9 and geo[-1] == pytest.approx(0.12e9)
    # constant spacing in linewidths on a geometric grid: 6^(1/63) - 1 = 2.88 %
    assert FrequencyGrid(0.02e9, 0.12e9, 64).spacing_in_linewidths(0.01) == pytest.approx(100 * (6 ** (1 / 63) - 1))
    for bad in [dict(f_min=-1.0, f_max=1.0, n=3), dict(f_min=2.0, f_max=1.0, n=3),
                dict(f_min=1.0, f_max=2.0, n=0), dict(f_min=1.0, f_max=2.0, n=3, kind="log")]:
        with pytest.raises(ValueError, match="FrequencyGrid"):
            FrequencyGrid(**bad)


def test_forward_is_the_device_equations():
    cfg = RFNetworkConfig(sizes=(6, 4, 3), f_min=1e9, f_max=1.2e9)
    net = RFNetwork(cfg, seed=1)
    x = torch.rand(5, 6, dtype=torch.float64)
    logits, (v1, v2) = net(x, return_all=True)
    f_in = torch.tensor(cfg.grid_for(6).frequencies)
    W1 = resonator.chain_weights(f_in, net.layers[0].resonance_frequencies(), cfg.resonator)
    assert torch.allclose(v1, x * cfg.p_max @ W1.T + net.layers[0].bias)
    current = torch.clamp(cfg.g_m * (v1 + cfg.v_bias), cfg.stno.I_th, 4 * cfg.stno.I_th)
    p_out = cfg.hidden_attenuation * cfg.stno.k_P * stno.steady_power(current, cfg.stno) * cfg.stno.R * current ** 2
    W2 = resonator.chain_weights(torch.tensor(cfg.grid_for(4).frequencies),
                                 net.layers[1].resonance_frequencies(), cfg.resonator)
    assert torch.allclose(v2, p_out @ W2.T + net.layers[1].bias)
    assert torch.allclose(logits, v2 * cfg.readout_scale)


def test_gradients_reach_every_trainable_quantity():
    net = RFNetwork(RFNetworkConfig(sizes=(6, 4, 3), train_input_freqs=True), seed=0)
    x = torch.rand(8, 6, dtype=torch.float64)
    net.calibrate_biases(x)
    torch.nn.functional.cross_entropy(net(x), torch.arange(8) % 3).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert not RFNetwork(RFNetworkConfig(sizes=(6, 4, 3)), 0).log_input_shift.requires_grad


def test_calibrated_biases_centre_the_amplifiers():
    cfg = RFNetworkConfig(sizes=(64, 16, 10))
    net = RFNetwork(cfg, seed=0)
    x = torch.rand(100, 64, dtype=torch.float64)
    net.calibrate_biases(x)
    with torch.no_grad():
        _, (v1, v2) = net(x, return_all=True)
    current = cfg.g_m * (v1 + cfg.v_bias)
    assert float(current.mean()) == pytest.approx(2.5 * cfg.stno.I_th, rel=1e-9)
    assert float(v2.mean(0).abs().max()) < 1e-12


def test_config_round_trip_and_validation():
    cfg = RFNetworkConfig(sizes=(8, 3), p_max=2e-7)
    assert RFNetworkConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="sizes"):
        RFNetworkConfig(sizes=(8,))
    with pytest.raises(ValueError, match="p_max"):
        RFNetworkConfig(p_max=-1.0)
