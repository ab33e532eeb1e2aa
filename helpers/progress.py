"""Progress bars: notebook widgets where Jupyter can show them, plain text elsewhere."""
from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # Without ipywidgets tqdm.auto falls back to text bars, after a warning we do not need.
    warnings.simplefilter("ignore")
    from tqdm.auto import tqdm


def progress_bar(total: int, desc: str, disable: bool = False) -> tqdm:
    """A progress bar over ``total`` steps that refreshes at most once a second."""
    return tqdm(total=total, desc=desc, disable=disable, mininterval=1.0, leave=True)
