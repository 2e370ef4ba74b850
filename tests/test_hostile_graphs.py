"""Hostile graph files: whatever a graph file holds, loading, the kind's structural check and
compiling give a netlist or one of the toolkit's own errors (one line), never another exception,
never a huge allocation on an attribute's say-so, and never a half-written output file.

Property tests start from small valid graphs of every exporting kind (rf, stno with ideal and with
chain synapses), serialise them to JSON and mutate them: nodes deleted, renamed and duplicated
(the rf lines included), links deleted, added, reversed and relabelled, attributes set to wrong
types, NaN, inf, 0, negative, huge and tiny values and strings, layer / index / chain / position /
orientation changed, graph attributes (network, sizes, dt, steps, substeps, ...) made absurd, the
top level replaced, the file's bytes truncated, flipped or made non-UTF-8. Explicit tests pin
the refusals that must be exact (duplicate ids, skip-layer and backward weights, the limits).
"""
import json
import math
import os
import tempfile
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spicegen.compiler import CompileError
from spicegen.errors import SpiceError
from spintronic import networks
from spintronic.graph import schema
from spintronic.graph.schema import GraphError
from spintronic.networks import KindError
from spintronic.networks.checkpoints import make_model
from spintronic.training.stno_network import DynamicalConfig

PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# the toolkit's own refusals; anything else (KeyError, TypeError, a bare ValueError from numpy or
# networkx, MemoryError, ...) escaping is a bug
TOOLKIT_ERRORS = (GraphError, CompileError, KindError, SpiceError)


def _dynamical(synapses):
    return DynamicalConfig(sizes=(2, 3, 2), steps=3, substeps=4, synapses=synapses)


_BUILD = {
    "rf": lambda: make_model("rf", (6, 3, 2)),
    "stno": lambda: make_model("stno", (2, 3, 2), config=_dynamical("ideal")),
    "stno-chain": lambda: make_model("stno", (2, 3, 2), config=_dynamical("chain")),
}
BASES = {name: json.loads(schema.to_json(networks.to_graph(build())))
         for name, build in _BUILD.items()}


def _stimulus(g):
    """Two samples in [0, 1] of the width the graph reads (steps * inputs for dynamical ones)."""
    sizes = schema.layer_sizes(g)
    width = sizes[0] * g.graph["steps"] if g.graph["network"] == "dynamical" else sizes[0]
    return np.random.default_rng(0).random((2, width))


def _refusal(exc):
    message = str(exc)
    assert message.strip() and "\n" not in message, repr(message)
    assert "Traceback" not in message


def compiles_or_refused(text):
    """The property: a netlist, written whole, or one toolkit error line. Returns the netlist's
    text, or None when the graph was refused."""
    try:
        g = schema.from_json(text)
        kind = networks.kind_for_graph(g)
        kind.check_graph(g)
    except TOOLKIT_ERRORS as exc:
        _refusal(exc)
        return None
    try:
        net = kind.compile(g, _stimulus(g), networks.CosimOptions())
    except TOOLKIT_ERRORS as exc:        # a value that overflows only in the compiler's arithmetic
        _refusal(exc)
        return None
    assert net.text.endswith(".end\n") and net.n_samples == 2
    # what validated is written whole and reads back as it was
    with tempfile.TemporaryDirectory() as folder:
        graph_path, netlist_path = os.path.join(folder, "g.json"), os.path.join(folder, "n.cir")
        schema.save(g, graph_path)
        net.write(netlist_path)
        assert sorted(os.listdir(folder)) == ["g.json", "n.cir"]
        with open(netlist_path) as fh:
            assert fh.read() == net.user_deck("n")       # the netlist and its .control block
        back = schema.load(graph_path)
    kind.check_graph(back)
    return net.text


def test_the_unmutated_bases_compile():
    for name, data in BASES.items():
        assert compiles_or_refused(json.dumps(data)) is not None, name


# ------------------------------------------------------------------------------- strategies

SPECIAL_NUMBERS = [0, 0.0, -0.0, -1, -1.5, 1, 2, 3, 5, 1e-300, 5e-324, 1e300, -1e300, 1.7e308,
                   -1.7e308, 10**9, 10**20, 2**63, math.nan, math.inf, -math.inf]
NUMBERS = st.one_of(st.sampled_from(SPECIAL_NUMBERS), st.floats(),
                    st.integers(-10**12, 10**12))
JUNK = st.one_of(st.none(), st.booleans(), st.text(max_size=4), st.sampled_from(["1", "4e-9"]),
                 st.lists(st.integers(0, 3), max_size=2),
                 st.dictionaries(st.text(max_size=2), st.integers(0, 3), max_size=1))
VALUES = st.one_of(NUMBERS, JUNK)
STRUCTURAL = ("layer", "index", "chain", "position", "orientation")
# small integers that land near the valid ones (orientation 0 or 5, layer 9, a chain reused...)
PLACEMENT = st.one_of(st.integers(-2, 9), st.sampled_from([0.0, 1.0, 0.5, 10**6, "1", None]))
KINDS = ["input", "rf_line", "resonator", "amplifier", "stno", "readout", "signal", "neuron",
         "bogus", "", None, 1]
LINK_KINDS = ["rf", "dc", "weight", "bogus", None, 1]
GRAPH_VALUES = {
    "network": st.sampled_from(["bogus", "rf", "dynamical", "", None, 1, ["rf"]]),
    "schema": st.sampled_from(["spintronic-graph/2", "", None]),
    "sizes": st.one_of(st.sampled_from([
        "100000,100000,10", "6,3,2", "2,3,2", "6,3", "2,3", "6,3,2,2", "0,3,2", "-1,3,2", "a,b",
        "", ",", "6,,2", " 6, 3 ,2", "6_0,3,2", "9" * 30 + ",2", "1," * 2000 + "1",
        "6,3,100000", "6,3,2,"]), st.text(alphabet="0123456789,-", max_size=12), VALUES),
    "steps": st.one_of(st.sampled_from([10**9, 10**6, 10**5, 0, -1, 1, 2, 3, 4, 3.0, "3"]),
                       VALUES),
    "substeps": st.one_of(st.sampled_from([10**6, 10**4, 10**4 + 1, 0, -1, 1, 4, 8, 4.0]),
                          VALUES),
    "dt": st.one_of(st.sampled_from([0, -4e-9, 1e-300, 1e-16, 1e-15, 4e-9, 1.0, 2.0, 1e300]),
                    VALUES),
    "readout_steps": st.one_of(st.integers(-1, 5), VALUES),
    "readout": st.one_of(st.sampled_from(["last", "mean", "bogus"]), VALUES),
    "order": st.one_of(st.sampled_from(["rows", "pixels", "bogus"]), VALUES),
    "p_init": st.one_of(st.sampled_from([0, 1, 0.5, 1e-300, 0.999999]), VALUES),
    "readout_scale": VALUES,
    "synapses": st.sampled_from(["chain", "ideal", "bogus", None, 1]),
}


def _ids(d):
    return [n.get("id") for n in d["nodes"]]


def _mutate(draw, d):
    """One mutation of the node-link dict ``d``, in place."""
    nodes, links = d["nodes"], d["links"]
    ids = _ids(d)
    op = draw(st.sampled_from([
        "del_node", "del_line", "rename", "duplicate_id", "dup_node", "del_link", "add_link",
        "reverse", "link_attr", "node_attr", "placement", "kind", "shared_attr", "del_attr",
        "graph_attr", "del_graph_attr"]))
    if op == "del_node" and nodes:
        victim = nodes.pop(draw(st.integers(0, len(nodes) - 1)))["id"]
        if draw(st.booleans()):
            d["links"] = [e for e in links if victim not in (e["source"], e["target"])]
    elif op == "del_line":
        victim = draw(st.sampled_from(["L1.line", "L2.line"]))
        d["nodes"] = [n for n in nodes if n["id"] != victim]
        if draw(st.booleans()):
            d["links"] = [e for e in links if victim not in (e["source"], e["target"])]
    elif op in ("rename", "duplicate_id") and nodes:
        node = nodes[draw(st.integers(0, len(nodes) - 1))]
        old = node["id"]
        new = draw(st.sampled_from(ids)) if op == "duplicate_id" else draw(st.one_of(
            st.sampled_from(["L1.line", "L2.line", "L3.line", "in0", "u0", "x", 7, "L1.c0.r0"]),
            st.text(max_size=6)))
        node["id"] = new
        if draw(st.booleans()):                    # links follow the rename, or dangle
            for e in links:
                for end in ("source", "target"):
                    if e[end] == old:
                        e[end] = new
    elif op == "dup_node" and nodes:
        nodes.append(dict(draw(st.sampled_from(nodes))))
    elif op == "del_link" and links:
        links.pop(draw(st.integers(0, len(links) - 1)))
    elif op == "add_link" and ids:
        link = {"source": draw(st.sampled_from(ids)), "target": draw(st.sampled_from(ids)),
                "link": draw(st.sampled_from(LINK_KINDS))}
        if link["link"] == "weight" or draw(st.booleans()):
            link["weight"] = draw(st.one_of(st.floats(-3, 3), VALUES))
        links.append(link)
    elif op == "reverse" and links:
        e = links[draw(st.integers(0, len(links) - 1))]
        e["source"], e["target"] = e["target"], e["source"]
    elif op == "link_attr" and links:
        e = links[draw(st.integers(0, len(links) - 1))]
        key = draw(st.sampled_from(["link", "weight", "source", "target"]))
        e[key] = draw(st.one_of(st.sampled_from(LINK_KINDS), st.sampled_from(ids or [0]),
                                VALUES))
    elif op in ("node_attr", "placement", "kind", "del_attr") and nodes:
        node = nodes[draw(st.integers(0, len(nodes) - 1))]
        keys = sorted(k for k in node if k != "id")
        if op == "kind":
            node["kind"] = draw(st.sampled_from(KINDS))
        elif op == "placement":
            node[draw(st.sampled_from(STRUCTURAL))] = draw(PLACEMENT)
        elif op == "del_attr" and keys:
            del node[draw(st.sampled_from(keys))]
        elif keys:
            node[draw(st.sampled_from(keys))] = draw(VALUES)
    elif op == "shared_attr" and nodes:
        # a layer-wide parameter changed on every device of a kind (the compiler groups by them)
        kind = draw(st.sampled_from(nodes)).get("kind")
        keys = sorted({k for n in nodes if n.get("kind") == kind for k in n} - {"id", "kind"})
        if keys:
            key, value = draw(st.sampled_from(keys)), draw(VALUES)
            for n in nodes:
                if n.get("kind") == kind and key in n:
                    n[key] = value
    elif op == "graph_attr":
        key = draw(st.sampled_from(sorted(GRAPH_VALUES)))
        d["graph"][key] = draw(GRAPH_VALUES[key])
    elif op == "del_graph_attr" and d["graph"]:
        d["graph"].pop(draw(st.sampled_from(sorted(d["graph"]))))


@st.composite
def mutated_graphs(draw, base):
    d = json.loads(json.dumps(BASES[base]))
    for _ in range(draw(st.integers(1, 4))):
        _mutate(draw, d)
    return json.dumps(d)


# ------------------------------------------------------------------------------- properties

@pytest.mark.parametrize("base", sorted(BASES))
@PROPERTY
@given(data=st.data())
def test_mutated_graphs_compile_or_are_refused(base, data):
    compiles_or_refused(data.draw(mutated_graphs(base)))


@PROPERTY
@given(top=st.one_of(
    st.recursive(st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text()),
                 lambda inner: st.lists(inner, max_size=3), max_leaves=5),
    st.fixed_dictionaries({}, optional={"nodes": VALUES, "links": VALUES, "graph": VALUES}),
    st.builds(lambda base, key, value: {**BASES[base], key: value}, st.sampled_from(sorted(BASES)),
              st.sampled_from(["nodes", "links", "graph", "directed", "multigraph"]), VALUES),
    st.builds(lambda base, nodes: {**BASES[base], "nodes": BASES[base]["nodes"] + nodes},
              st.sampled_from(sorted(BASES)), st.lists(VALUES, min_size=1, max_size=2)),
    st.builds(lambda base, links: {**BASES[base], "links": BASES[base]["links"] + links},
              st.sampled_from(sorted(BASES)), st.lists(VALUES, min_size=1, max_size=2)),
))
def test_any_json_document_is_a_graph_or_a_graph_error(top):
    """The top level replaced: a list, a string, a number, an object without nodes or links,
    nodes and links that are not objects, graph attributes that are not an object."""
    compiles_or_refused(json.dumps(top))


@pytest.mark.parametrize("base", sorted(BASES))
@PROPERTY
@given(data=st.data())
def test_damaged_graph_files_load_or_are_refused(base, data, tmp_path_factory):
    """The file's bytes: truncated, bytes flipped or inserted (non-UTF-8 among them)."""
    blob = bytearray(json.dumps(BASES[base], indent=1).encode())
    how = data.draw(st.sampled_from(["truncate", "flip", "insert", "bom"]))
    if how == "truncate":
        blob = blob[:data.draw(st.integers(0, len(blob) - 1))]
    elif how == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] = data.draw(st.sampled_from([0x00, 0x22, 0x2c, 0x7b, 0x7d, 0x80, 0xc3, 0xff,
                                                 blob[i] ^ 0x01, blob[i] ^ 0x20]))
    elif how == "insert":
        i = data.draw(st.integers(0, len(blob)))
        blob[i:i] = data.draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00",
                                               b"\xf0\x9f\x92", b"NaN", b"[[[["]))
    else:
        blob = bytearray(b"\xef\xbb\xbf") + blob
    folder = tmp_path_factory.mktemp("damaged")
    path = str(folder / "g.json")
    with open(path, "wb") as fh:
        fh.write(bytes(blob))
    try:
        g = schema.load(path)
    except GraphError as exc:
        _refusal(exc)
        return
    compiles_or_refused(schema.to_json(g))


# ------------------------------------------------------------------------------- strict cases

def _edit(base, edit):
    d = json.loads(json.dumps(BASES[base]))
    edit(d)
    return json.dumps(d)


def _refused(text, pattern):
    with pytest.raises(GraphError, match=pattern) as info:
        g = schema.from_json(text)
        networks.kind_for_graph(g).check_graph(g)
    _refusal(info.value)


@pytest.mark.parametrize("base, node", [("rf", "L1.c0.r0"), ("rf", "in0"),
                                        ("stno", "L1.n0"), ("stno-chain", "L1.line")])
def test_duplicate_node_ids_are_refused(base, node):
    def dup(d):
        d["nodes"].append(dict(next(n for n in d["nodes"] if n["id"] == node)))
    _refused(_edit(base, dup), f"node '{node}' appears twice")


def test_duplicate_links_are_refused():
    _refused(_edit("stno", lambda d: d["links"].append(dict(d["links"][0]))), "appears twice")


def test_a_link_to_a_node_the_file_lacks_is_refused():
    _refused(_edit("rf", lambda d: d["links"].append({"source": "in0", "target": "nowhere",
                                                      "link": "rf"})), "'nowhere'")


@pytest.mark.parametrize("source, target, pattern", [
    ("u0", "L2.n0", "from layer 0 to 2"),            # skips a layer
    ("L2.n0", "L1.n0", "from layer 2 to 1"),         # backward
    ("L1.n0", "L1.n0", None),                        # recurrent on itself: allowed
])
def test_skip_layer_and_backward_weights_are_refused_not_read_as_recurrent(source, target,
                                                                           pattern):
    def add(d):
        d["links"] = [e for e in d["links"] if (e["source"], e["target"]) != (source, target)]
        d["links"].append({"source": source, "target": target, "link": "weight", "weight": 0.5})
    text = _edit("stno", add)
    if pattern is None:
        assert compiles_or_refused(text) is not None
    else:
        _refused(text, f"weight edge '{source}' -> '{target}' goes {pattern}")


def test_weights_from_below_are_refused_with_chain_synapses():
    def add(d):
        d["links"].append({"source": "u0", "target": "L1.n0", "link": "weight", "weight": 0.5})
    _refused(_edit("stno-chain", add), "chain synapses")


def test_a_link_of_the_wrong_kind_is_refused():
    def relabel(d):
        e = next(e for e in d["links"] if e["source"] == "u0")
        e["link"] = "dc"
    _refused(_edit("stno", relabel), "'u0' -> .*'weight' link, got 'dc'")


@pytest.mark.parametrize("value", [0, 5, -2, 1.0])
def test_orientation_must_be_plus_or_minus_one(value):
    def edit(d):
        next(n for n in d["nodes"] if n["id"] == "L1.c1.r1")["orientation"] = value
    _refused(_edit("rf", edit), "'L1.c1.r1'.*orientation")


def test_neurons_share_their_stno_parameters():
    def edit(d):
        next(n for n in d["nodes"] if n["id"] == "L1.n2")["Gg"] *= 2
    _refused(_edit("stno", edit), "'L1.n2'.*Gg.*share")


def test_unknown_network_is_refused():
    _refused(_edit("rf", lambda d: d["graph"].update(network="bogus")), "network is 'bogus'")


@pytest.mark.parametrize("base, attrs, pattern", [
    ("rf", {"sizes": "100000,100000,10"}, "limit is 5,000,000"),
    ("rf", {"sizes": "1," * 5000 + "1"}, "at most 1000 layers"),
    ("rf", {"sizes": "9" * 5000 + ",2"}, "comma-separated integers"),
    ("stno", {"sizes": "2,3000,2"}, "weights .*recurrent.*limit is 5,000,000"),
    ("stno", {"steps": 10**9}, "time points per sample; the limit is 10,000,000"),
    ("stno", {"steps": 10**6, "sizes": "6,3,2"}, "input values per sample; the limit"),
    ("stno", {"substeps": 10**6}, "substeps must be an integer >= 1 and <= 10000"),
    ("stno", {"dt": 1e300}, "dt must be a finite number >= 1e-15 and <= 1"),
    ("stno", {"dt": 1e-300}, "dt must be"),
    ("stno", {"steps": 3.0}, "steps must be an integer"),
    ("stno", {"readout_steps": 4}, "readout_steps must be an integer >= 1 and <= 3"),
    ("stno", {"p_init": 1}, "p_init must be"),
    ("stno", {"order": None}, "order must be one of rows, pixels"),
])
def test_absurd_graph_attributes_are_refused_before_allocating(base, attrs, pattern):
    text = _edit(base, lambda d: d["graph"].update(attrs))
    tracemalloc.start()
    try:
        _refused(text, pattern)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50e6, peak


def test_a_netlist_beyond_the_time_point_limit_is_refused_before_it_is_built():
    """A valid graph, but too many samples for one netlist: a CompileError naming the limit
    (cosim cuts a test set into chunks well inside it)."""
    g = schema.from_json(json.dumps(BASES["stno"]))
    kind = networks.kind_for_graph(g)
    X = np.zeros((1_000_000, 6))
    with pytest.raises(CompileError, match="limits are 10,000,000"):
        kind.compile(g, X, networks.CosimOptions(points_per_step=8))
    g = schema.from_json(json.dumps(BASES["rf"]))
    with pytest.raises(CompileError, match="limits are 10,000,000"):
        networks.kind_for_graph(g).compile(g, np.zeros((400_000, 6)), networks.CosimOptions())


def test_an_overflowing_parameter_is_named_by_the_compiler():
    """Each value finite, but their product beyond 1e308: the compiler names the device."""
    def edit(d):
        for n in d["nodes"]:
            if n["kind"] == "neuron":
                n["I_th"], n["g_m"] = 1e-300, 1e300
    text = _edit("stno-chain", edit)
    g = schema.from_json(text)
    networks.kind_for_graph(g).check_graph(g)
    with pytest.raises(CompileError, match=r"node 'L1.n0'.*overflows"):
        networks.kind_for_graph(g).compile(g, _stimulus(g), networks.CosimOptions())
