"""Scales of the signals that envelope netlists carry on node voltages.

Inside Python everything is SI. In a netlist a microwatt or a frequency shift of a few MHz would sit
below ngspice's absolute voltage tolerance (vntol = 1 uV) or far above it, so envelope nodes carry
scaled values. These constants are the one place where the scales are defined; the SPICE models and
the code that reads waveforms back both use them.
"""

POWER_UNIT = 1e-6   # W per volt on an envelope power node (1 V = 1 uW)
FREQ_UNIT = 1e6     # Hz per volt on an envelope frequency-shift node (1 V = 1 MHz)
STATE_CURRENT_UNIT = 1e-6  # A per volt on a resonator's precession-state nodes at rf fidelity

FIDELITIES = ("envelope", "rf")


def check_fidelity(fidelity: str) -> str:
    if fidelity not in FIDELITIES:
        raise ValueError(f"fidelity must be one of {FIDELITIES}, got {fidelity!r}")
    return fidelity
