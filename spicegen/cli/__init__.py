"""Command line: ``spicegen train | export | cosim | twins | crosstalk | sneak | library | kinds``.

Every failure the user can cause is one ``error:`` line and exit status 2; an interrupt (Ctrl-C or
SIGTERM) ends the ngspice children, removes temporary folders and is one line, exit status 130.
"""
from __future__ import annotations

import sys


def _errors() -> tuple[type[BaseException], ...]:
    from ..errors import SpiceError
    return (SpiceError, ValueError, OSError, FloatingPointError, MemoryError)


def main(argv: list[str] | None = None) -> int:
    from ..signals import install_signal_handlers
    from .parser import build_parser

    install_signal_handlers()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:           # --help, --version, or argparse's own error line
        return exc.code if isinstance(exc.code, int) else 2
    # the command line as given, for the provenance of what the command writes
    args.argv = ["spicegen", *(sys.argv[1:] if argv is None else argv)]
    try:
        return args.func(args)
    except KeyboardInterrupt as exc:      # Ctrl-C, or SIGTERM through install_signal_handlers
        what = "terminated" if type(exc).__name__ == "Terminated" else "interrupted"
        print(f"error: {what}; partial results were discarded and earlier ones kept",
              file=sys.stderr)
        return 130
    except _errors() as exc:
        message = str(exc).strip() or type(exc).__name__
        if isinstance(exc, MemoryError):
            message = "out of memory: the run is too large for this machine (use --limit or " \
                      "smaller --sizes)"
        first, *rest = message.splitlines()
        # one error line; a SpiceError's context (device, netlist line, ngspice's words) follows
        print("\n".join([f"error: {first}"] + [f"  {line}" for line in rest]), file=sys.stderr)
        return 2


__all__ = ["main"]
