"""RF crosstalk inspection at carrier (rf) fidelity: what the Lorentzian surrogate hides.

The surrogate treats a chain of resonators as a sum of Lorentzian rectifiers, W[j, i] =
sum_k o_k G(f_i, f_r,jk): linear in the input powers, instantaneous, with fixed source frequencies.
The rf circuit (the same cards as :func:`spicegen.compiler.compile_rf`: ideal pre-warped carriers of
amplitude sqrt(2 Z0 P), line current sum V/Z0 into each chain, one linear ``mtj_prec`` precession per
resonator summing into a resistance node, one junction B-source per chain, a two-pole ``readout_lp``)
computes the same quantity from waveforms (one departure: carriers start at zero, see
``CrosstalkSetup.carrier``). This package measures where the two part:

1. :func:`measure_crosstalk`: each input driven alone, and all together. The single-drive response
   matrix M[j, i] (V/W) against the Lorentzian, and the superposition error (all together minus the
   sum of the single drives): the mixing products, which the surrogate sets to zero.
2. :func:`beat_note_sweep`: the ripple at f_i - f_j on a chain's read-out against the two-pole
   attenuation 1 / (1 + (f_b / f_c)^2) of the read-out low-pass.
3. :func:`pulling` and :func:`pulling_rf_check`: an STNO with a nonlinear frequency shift N moves
   its carrier by N p / 2 pi over its current range, and the next layer's weights move with it.
4. :func:`spacing_guideline`: crosstalk of a one-resonator-per-channel layer against the channel
   spacing (Lorentzian, fast), with a few rf confirmations, and the minimum spacing for a bound.

What the measurement shows (derivations in :func:`linear_response`):

- The rf resonator is a linear oscillator, so the chain voltage I (R0 + dR) is exactly bilinear in
  the line current: DC levels scale exactly with P (no drive-strength effect exists in this model;
  a real junction saturates, which neither fidelity represents), and the all-together DC level equals
  the sum of the single-drive levels; the cross terms are pure tones at f_i - f_j (beat notes) and
  f_i + f_j.
- The surrogate is the rotating-wave limit of that oscillator. The counter-rotating half of the drive
  adds about -alpha x (peak weight) to EVERY entry (x orientation): 1 % of the largest entry at
  alpha = 0.01, but 5 % of an entry that is 20 % of the peak. :func:`linear_response` is the
  exact (non-rotating-wave) prediction; what is left against it is numerics and settling.
- The read-out low-pass attenuates the beat notes by 1 / (1 + (f_b / f_c)^2) only; with its corner
  near or above the channel spacing the next layer sees them.
- Fixed-step runs pre-warp the ideal carriers so that the resonators see exactly f_i, but the beat
  notes come out at the difference of the EMITTED frequencies, f'_i - f'_j ~ (f_i - f_j) /
  (1 + (pi f h)^2): 9 % low at 10 points per period. The ripple predictions here use the simulated
  beat frequency; for a faithful beat-note study raise ``points_per_period``.

Every DC level is a Hann-weighted mean over the last ``window`` of the run (at least 20 periods of
the slowest carrier and ``beat_periods`` periods of the slowest beat), which rejects the carrier
leak and the beats; the peak superposition error is read over the same window, sample by sample.

Modules: ``setup`` (:class:`CrosstalkSetup`, validators, channel grid), ``predict`` (surrogate and
exact linear response, crosstalk error; the device math is ``spintronic.models.resonator``),
``deck`` (the rf netlist of one run), ``run`` (the one place that runs many decks), ``readout``
(DC levels and tones over the read window), ``tables``, and one module per study: ``matrix``,
``beats``, ``pulling``, ``guideline``.
"""
from __future__ import annotations

from spintronic.models.resonator import resonator_response, two_pole

from .beats import BeatNoteResult, beat_note_sweep
from .guideline import GuidelineResult, spacing_guideline
from .matrix import CrosstalkResult, assumption_sweep, format_assumptions, measure_crosstalk
from .predict import (beat_amplitudes, chain_response, crosstalk_error, linear_response,
                      surrogate_matrix)
from .pulling import PullingCheck, PullingResult, pulling, pulling_rf_check
from .setup import (CARRIERS, F_DEVICE_MAX, F_DEVICE_MIN, MAX_STEPS, METRICS, CrosstalkSetup,
                    layer_frequencies)

__all__ = ["CrosstalkSetup", "CrosstalkResult", "measure_crosstalk", "assumption_sweep",
           "format_assumptions", "surrogate_matrix", "linear_response", "resonator_response",
           "chain_response", "beat_amplitudes", "crosstalk_error", "layer_frequencies",
           "two_pole", "BeatNoteResult", "beat_note_sweep", "PullingResult", "pulling",
           "PullingCheck", "pulling_rf_check", "GuidelineResult", "spacing_guideline"]
