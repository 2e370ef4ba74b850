#!/bin/sh
# Create the virtual environment and install the project with its dev extras.
# torch is pinned first to 2.13.0: on these machines that is the CPU build lying on disk, whereas an
# unpinned torch would pull a multi-GB CUDA build.
set -e
venv=${1:-.venv}
log="$venv.install.log"
echo "setting up $venv (log in $log) ..."
{
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q torch==2.13.0
    "$venv/bin/python" -m pip install -q -e '.[dev]'
} >"$log" 2>&1 || { tail -n 30 "$log" >&2; echo "error: installation failed (log: $log)" >&2; exit 1; }
rm -f "$log"
