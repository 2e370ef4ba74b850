"""Device twins: every surrogate against its ngspice model, within the tolerances of the spec."""
import pytest

from spintronic.models import stno
from spicegen import twins

from .conftest import requires_ngspice

pytestmark = requires_ngspice


# every twin passing within tolerance: tests/test_devices.py, per device family


def test_twins_register_under_device_families():
    from spintronic.models import DEVICES
    assert list(twins.TWINS) == ["stno_envelope", "stno_rf", "resonator_envelope", "resonator_rf",
                                 "domain_wall"]
    by_family = {name for kind in DEVICES for name in twins.twins_of(kind)}
    assert by_family == set(twins.TWINS)
    assert set(twins.twins_of("dw_synapse")) == set(twins.twins_of("dw_mtj")) == {"domain_wall"}
    with pytest.raises(ValueError, match="unknown device kind 'sot'.*stno"):
        twins.twin("sot")


def test_twin_result_names_its_twin_and_plot(tmp_path):
    from spicegen import plots
    result = twins.TWINS["resonator_envelope"]()
    assert result.twin == "resonator_envelope" and result.device == "resonator envelope"
    path = plots.plot_twin(result, str(tmp_path))
    assert path == str(tmp_path / "resonator_envelope.png")
    assert (tmp_path / "resonator_envelope.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="no plot registered"):
        plots.plot_twin(twins.TwinResult("nameless", result.checks, result.curves), str(tmp_path))
    with pytest.raises(ValueError, match="no twin 'nosuch'"):
        plots.twin_plot("nosuch", 1, "vertical")


def test_tolerances_are_those_of_the_spec():
    tol = {r.device: {c.tolerance for c in r.checks} for r in
           [twins.resonator_envelope_twin(), twins.stno_envelope_twin()]}
    assert 0.01 in tol["resonator envelope"] and 0.01 in tol["STNO envelope"]


def test_shared_backend_gives_the_same_twin():
    a = twins.stno_envelope_twin(backend="subprocess")
    b = twins.stno_envelope_twin(backend="shared")
    assert [c.error for c in a.checks] == pytest.approx([c.error for c in b.checks], abs=1e-9)


def test_twin_catches_a_model_that_drifted(monkeypatch):
    """A SPICE model 5 % off in damping must fail its twin: the checks can fail."""
    original = stno.spice_subckt

    def drifted(prm, fidelity):
        return original(prm.replace(Gg=prm.Gg * 1.05), fidelity)

    monkeypatch.setattr(stno, "spice_subckt", drifted)
    result = twins.stno_envelope_twin()
    assert not result.passed
    failing = {c.name for c in result.checks if not c.passed}
    assert any("relaxation time" in name for name in failing)


def test_resonator_rf_twin_catches_a_wrong_mixing_sign(monkeypatch):
    from spintronic.models import resonator
    original = resonator.mixing_coefficients
    monkeypatch.setattr(resonator, "mixing_coefficients",
                        lambda prm: tuple(-b for b in original(prm)))
    result = twins.resonator_rf_twin(f_rs=(1e9,), n_points=5)
    assert not result.passed


def test_domain_wall_twin_catches_a_shifted_sigmoid(monkeypatch):
    from spintronic.models import DomainWallParams, domain_wall
    original = domain_wall.spice_subckt
    monkeypatch.setattr(domain_wall, "spice_subckt",
                        lambda prm, kind, fidelity="envelope": original(
                            prm.replace(x0=prm.x0 + 0.3), kind, fidelity))
    result = twins.domain_wall_twin(DomainWallParams(), n_reads=1000)
    assert not result.passed


def test_unknown_twin_name():
    with pytest.raises(ValueError, match="unknown twin"):
        twins.run_twins(["stno_envelope", "nope"])
