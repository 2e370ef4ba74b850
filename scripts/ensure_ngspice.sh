#!/bin/sh
# Make sure the ngspice program and its shared library (libngspice0) are installed.
# Silent when both are there; installs them with apt-get when it can; otherwise says what to run.
set -e
have_lib() { ldconfig -p 2>/dev/null | grep -q 'libngspice\.so'; }
if command -v ngspice >/dev/null 2>&1 && have_lib; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
    if [ "$SUDO" != none ]; then
        echo "installing ngspice and libngspice0 with apt-get ..."
        log=$(mktemp)
        if $SUDO apt-get update -qq >"$log" 2>&1 &&
           DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ngspice libngspice0 >>"$log" 2>&1; then
            rm -f "$log"
            exit 0
        fi
        tail -n 20 "$log" >&2
        echo "error: apt-get could not install ngspice (log above)" >&2
        exit 1
    fi
fi
echo "error: ngspice and its shared library are missing and cannot be installed from here." >&2
echo "       Install them, then run make again:  sudo apt-get install ngspice libngspice0" >&2
echo "       (other systems: ngspice >= 39 with libngspice, e.g. 'brew install ngspice')" >&2
exit 1
