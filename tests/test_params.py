import math
import random

import pytest

from spintronic.models import DomainWallParams, ResonatorParams, STNOParams
from spintronic.models.params import spice_number


@pytest.mark.parametrize("cls, field, bad", [
    (STNOParams, "Gg", -1.0),
    (STNOParams, "I_th", 0.0),
    (STNOParams, "f0", float("nan")),
    (STNOParams, "N", float("inf")),
    (ResonatorParams, "alpha", -0.01),
    (ResonatorParams, "K_SD", "8840"),
    (DomainWallParams, "a", 1.5),
    (DomainWallParams, "dx", True),
])
def test_bad_value_names_field_and_value(cls, field, bad):
    with pytest.raises(ValueError) as err:
        cls(**{field: bad})
    assert f"{cls.__name__}.{field}" in str(err.value)
    assert repr(bad) in str(err.value)


def test_cross_field_checks():
    with pytest.raises(ValueError, match="I_max_ratio"):
        STNOParams(I_min_ratio=2.0, I_max_ratio=1.5)
    with pytest.raises(ValueError, match="G_P"):
        DomainWallParams(G_P=1e-4, G_AP=2e-4)
    with pytest.raises(ValueError, match="both 0"):
        ResonatorParams(a_sym=0.0, a_asym=0.0)


def test_params_are_frozen_and_published_defaults():
    prm = STNOParams()
    with pytest.raises(Exception):
        prm.Q = 3.0
    # P_out = 1 uW at I = 40 uA (z = 4, p0 = 3/6)
    assert math.isclose(prm.k_P * 0.5 * prm.R * (40e-6) ** 2, 1e-6, rel_tol=1e-12)
    res = ResonatorParams()
    # the published expression tan(pi/4) / (8 sqrt 2) / I_th, I_th = 10 uA, not 0.0884 / I_th
    assert math.isclose(res.K_SD, 1 / (8 * math.sqrt(2)) / 10e-6, rel_tol=1e-15)
    assert not math.isclose(res.K_SD, 0.0884 / 10e-6, rel_tol=1e-5)
    dw = DomainWallParams()
    assert (dw.x0, dw.dx, dw.a) == (4.63168, 2.72741, 0.97813)
    assert 2 <= dw.on_off_ratio <= 3


def test_spice_number_round_trips_exactly():
    rng = random.Random(0)
    values = [1e9 + 123.4567891, 0.1, 1 / 3, 6.283185307179586e7, 2.0, -5.5e-12, 1e20]
    values += [rng.uniform(-1e10, 1e10) for _ in range(200)]
    for v in values:
        assert float(spice_number(v)) == v
    with pytest.raises(ValueError):
        spice_number(float("nan"))


def test_amplifier_constants_are_the_published_full_values():
    """g_m and V_bias of the public spinMLP config (3.388370758630916 uA/mV, 0.011084586710145186
    V), not the 3-4 digit values: every network that uses the public amplifier takes them."""
    from spintronic.models import published
    from spintronic.training.rf_network import RFNetworkConfig
    from spintronic.training.stno_network import DynamicalConfig
    from spintronic.networks.rfcnn import RFCNNConfig

    assert published.G_M == 3.388370758630916e-3 and published.V_BIAS == 0.011084586710145186
    for cfg in (RFNetworkConfig(), RFCNNConfig()):
        assert (cfg.g_m, cfg.v_bias) == (published.G_M, published.V_BIAS), type(cfg).__name__
    assert DynamicalConfig().g_m == published.G_M
    assert ResonatorParams().K_SD == published.K_SD
