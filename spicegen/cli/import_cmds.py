"""``spicegen import``: a spinMLP of the public rf_spintronic_nn code as an rf checkpoint (and
graph) of this toolkit (``spintronic.networks.import_rfnn``)."""
from __future__ import annotations

import argparse


def add_parser(sub, formatter) -> None:
    im = sub.add_parser(
        "import", formatter_class=formatter,
        help="turn a spinMLP trained with rf_spintronic_nn (CNRS/Thales) into an rf checkpoint",
        description="Read a spinMLP state dict (torch.save zip, never unpickled; or .safetensors "
                    "/ .npz with the same keys) and its YAML config, map their units (GHz, uW, "
                    "uA, mV), chain sign and constants onto an rf network, and write its "
                    "checkpoint (and graph). A whole pickled model (torch.save(model)) is "
                    "refused: save model.state_dict() where it was trained.")
    im.add_argument("--state-dict", required=True, metavar="FILE",
                    help="their model's state dict: torch.save zip, .safetensors or .npz")
    im.add_argument("--config", required=True, metavar="FILE.yaml",
                    help="the YAML config it was trained with (config_spinMLP.yaml schema)")
    im.add_argument("--out", default="out/imported.pt", help="checkpoint to write (safetensors)")
    im.add_argument("--graph-out", metavar="G.json",
                    help="also write the device graph (.json or .graphml), as export does")
    im.add_argument("--data", metavar="SPEC",
                    help="the data set it was trained on ('digits', a .npz/.h5 file, "
                         "mnist:FOLDER), recorded as the checkpoint's data source and scored "
                         "(inputs in [0, 1] stand for 0 to 1 uW, their power unit)")
    im.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    import torch

    from spintronic import networks
    from spintronic.graph import schema
    from spintronic.networks import import_rfnn

    net, meta = import_rfnn.import_spinmlp(args.state_dict, args.config)
    kind = networks.get_kind(net.kind)
    g = None
    if args.graph_out:          # built and checked before anything is written
        g = kind.to_graph(net)
        kind.check_graph(g)
    sizes = ",".join(map(str, net.sizes))
    if args.data:
        from spintronic.training.datasets import load

        data = load(args.data)
        if data.n_features != net.sizes[0]:
            raise ValueError(f"--data {args.data} has {data.n_features} features, the imported "
                             f"network {net.sizes[0]} inputs")
        with torch.no_grad():
            pred = net(torch.as_tensor(data.X_test)).argmax(1).numpy()
        accuracy = float((pred == data.y_test).mean())
        meta.update(dataset=data.name, data_source=getattr(data, "source", None),
                    metrics={"test_accuracy": accuracy})
        print(f"imported network on {data.name}: test accuracy {100 * accuracy:.2f} % "
              f"({len(data.y_test)} samples)")
    import_rfnn.save(net, meta, args.out)
    mapping = meta["imported"]["mapping"]
    print(f"wrote {args.out}: rf network {sizes} from their spinMLP (chain sign "
          f"'{mapping['chain_sign']}', grids {', '.join(mapping['grids'])})")
    if g is not None:
        schema.save(g, args.graph_out)
        print(f"wrote {args.graph_out}: {kind.describe_graph(g)}")
    return 0
