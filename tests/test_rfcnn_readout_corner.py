"""The read-out chains' own low-pass corner (RFCNNConfig.readout_lp_ratio, --readout-lp-ratio): a
dense read-out line whose beat notes pass the default corner holds the design rules below it; the
conv chains keep theirs; unset, graphs and checkpoints are as before."""
import json

import pytest

from spintronic import networks
from spintronic.networks.rfcnn import RFCNN, RFCNNConfig


def _layer_row(g, layer):
    return next(r for r in networks.get_kind("rfcnn").design_rules(g).rows if r.layer == layer)


def test_a_lower_readout_corner_makes_the_dense_readout_hold_and_leaves_the_conv_chains():
    """The default digits network: 144 read-out channels 1.26 linewidths apart on one line. Two
    poles at corner c pass a beat s linewidths apart at |H| = 1 / (1 + (s alpha / c)^2)."""
    kind = networks.get_kind("rfcnn")
    rows = {}
    for corner in (None, 0.002):
        g = kind.to_graph(RFCNN(RFCNNConfig(readout_lp_ratio=corner)))
        lps = {(a["layer"], a["lp_ratio"]) for _, a in g.nodes(data=True)
               if a["kind"] == "resonator"}
        assert lps == {(1, 0.01), (2, 0.01 if corner is None else corner)}
        rows[corner] = (_layer_row(g, 1), _layer_row(g, 2))
    (conv0, out0), (conv1, out1) = rows[None], rows[0.002]
    assert out0.status == "fails" and out1.status == "holds"
    s = out1.worst.spacing * 0.01
    assert out1.worst.attenuation == pytest.approx(1 / (1 + (s / 0.002) ** 2), rel=0.05)
    assert out1.worst.ripple < out0.worst.ripple / 10
    assert (conv1.status, conv1.worst.attenuation) == (conv0.status, conv0.worst.attenuation)


def test_unset_corner_leaves_config_and_graph_as_before_and_a_set_one_round_trips():
    plain = RFCNNConfig()
    assert "readout_lp_ratio" not in plain.to_dict()
    low = RFCNNConfig(readout_lp_ratio=0.002)
    assert RFCNNConfig.from_dict(json.loads(json.dumps(low.to_dict()))) == low
    kind = networks.get_kind("rfcnn")
    a, b = kind.to_graph(RFCNN(plain, seed=1)), kind.to_graph(RFCNN(low, seed=1))
    differ = {n for n in a if a.nodes[n] != b.nodes[n]}
    assert differ == {n for n, d in a.nodes(data=True)
                      if d["kind"] == "resonator" and d["layer"] == 2}


@pytest.mark.parametrize("bad", [0.0, -0.01, 0.5, 2.0])
def test_config_and_cli_refuse_a_corner_outside_zero_to_half(bad, capsys):
    with pytest.raises(ValueError, match=f"readout_lp_ratio must be within \\(0, 0.5\\).*got "
                                         f"{bad!r}"):
        RFCNNConfig(readout_lp_ratio=bad)
    from spicegen.cli import main
    assert main(["train", "--model", "rfcnn", "--readout-lp-ratio", str(bad), "--epochs", "1",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "readout_lp_ratio must be within (0, 0.5)" in err and len(err.strip().splitlines()) == 1
