"""Constants of the public CNRS/Thales code, at full precision.

Source: github.com/neurophysics-cnrsthales/rf_spintronic_nn (commit f09840f), the code of the
resonator-chain networks this toolkit reproduces:

- ``src/networks.py``, ``LayerChainsResonators``: the spin-diode sensitivity
  ``KSD = tan(pi / 4) / (8 sqrt 2) / Ith`` (gamma_p = pi/4, TMR and shape factor taken as 1),
  with ``Ith_res = 10`` uA (``src/config_spinMLP.yaml``);
- ``src/config_spinMLP.yaml``, ``physical_model_params``: ``voltage_to_current_factors[0] =
  3.388370758630916`` uA/mV (the amplifier's g_m) and ``add_voltage_bias[0] =
  0.011084586710145186`` V (the hidden layer's voltage bias, added to every chain voltage before
  the conversion to current).

Their code works in uA, uW, mV and GHz; these values are in SI units.
"""
from __future__ import annotations

import math

#: the resonator's "threshold current" in the rectification formula (A): Ith_res = 10 uA
RESONATOR_I_TH = 10e-6
#: spin-diode sensitivity (V/W): tan(pi/4) / (8 sqrt 2) / I_th = 0.0883883... / I_th
K_SD = math.tan(math.pi / 4) / (8 * math.sqrt(2)) / RESONATOR_I_TH
#: amplifier transconductance, chain voltage to STNO current (A/V): 3.388370758630916 uA/mV
G_M = 3.388370758630916e-3
#: hidden-layer voltage bias added to each chain voltage before the amplifier (V)
V_BIAS = 0.011084586710145186

__all__ = ["RESONATOR_I_TH", "K_SD", "G_M", "V_BIAS"]
