"""Command line: ``spicegen twins`` and ``spicegen library``."""
from __future__ import annotations

import argparse
import sys
import time

from .errors import SpiceError
from .runner import BACKENDS


def _cmd_twins(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .plots import plot_twin
    from .twins import TWINS, format_table, run_twins

    names = args.only or list(TWINS)
    start = time.perf_counter()
    with tqdm(total=len(names), desc="device twins", unit="twin", file=sys.stderr,
              disable=args.quiet) as bar:
        def progress(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update()
        results = run_twins(names, backend=args.backend, progress=progress)
    print(format_table(results))
    for result in results:
        print(f"wrote {plot_twin(result, args.out)}")
    failed = [c for r in results for c in r.checks if not c.passed]
    print(f"{len(failed)} of {sum(len(r.checks) for r in results)} checks out of tolerance "
          f"({time.perf_counter() - start:.1f} s, backend {args.backend})")
    return 1 if failed else 0


def _cmd_library(args: argparse.Namespace) -> int:
    from .library import write_library

    for path in write_library(args.out):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .library import DEFAULT_DIR
    from .twins import TWINS

    parser = argparse.ArgumentParser(
        prog="spicegen", description="Spintronic neural networks: surrogates, netlists, ngspice.")
    sub = parser.add_subparsers(dest="command", required=True)
    twins = sub.add_parser("twins", help="run every device's surrogate against its ngspice model")
    twins.add_argument("--out", default="out/twins", help="folder for the PNG plots")
    twins.add_argument("--backend", choices=BACKENDS, default="subprocess")
    twins.add_argument("--only", nargs="+", choices=list(TWINS), help="run only these twins")
    twins.add_argument("--quiet", action="store_true", help="no progress bar")
    twins.set_defaults(func=_cmd_twins)
    lib = sub.add_parser("library", help="write the device model library (.lib and .va files)")
    lib.add_argument("--out", default=DEFAULT_DIR)
    lib.set_defaults(func=_cmd_library)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SpiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
