"""The progress bar of long work (training epochs, ngspice runs): one place for training and
spicegen alike (imports nothing of the project)."""
from __future__ import annotations


def progress_bar():
    """tqdm's class for this front end: a widget in Jupyter, text on stderr elsewhere. A notebook
    without ipywidgets gets the text bar; tqdm's warning about that is left out (once per
    process, at its first import, and about nothing the user asked for)."""
    import warnings

    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)
        from tqdm.auto import tqdm
    return tqdm
