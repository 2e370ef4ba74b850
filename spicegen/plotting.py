"""Shared figure helpers for the spicegen reports: a headless pyplot and an atomic PNG writer.

Imported lazily by the modules that draw (crossbar, crosstalk), so that numerical code never pays
for matplotlib unless it plots.
"""
from __future__ import annotations

import os
import tempfile

_DPI = 110


def _current_umask() -> int:
    # os.umask can only be read by setting it; do that once, at import, rather than per save,
    # so that threads writing files meanwhile never see the temporary value
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (files only; no display on CI or
    servers)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path: str) -> str:
    """Write ``fig`` to ``path`` (creating its folder), close it, return the path.

    The figure is drawn into a temporary file in the same folder, with the same extension (so the
    format is inferred alike), then renamed over ``path``: a reader never sees a half-written
    image, and a failed save leaves any previous file untouched. The temporary file is removed on
    any failure.
    """
    plt = pyplot()
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=os.path.splitext(path)[1],
                                   prefix="." + os.path.basename(path) + ".")
        try:
            os.close(fd)
            fig.savefig(tmp, dpi=_DPI)
            os.chmod(tmp, _FILE_MODE)  # mkstemp makes it 0600; give it an ordinary file's mode
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    finally:
        plt.close(fig)
    return path


__all__ = ["pyplot", "save"]
