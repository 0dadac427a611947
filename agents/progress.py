"""Progress bars on a terminal, plain log lines elsewhere.

A bar redrawn a thousand times is useful on a terminal and a thousand lines of noise in a
log file (``make run > log``, a CI job, a background run). Bars show only when stderr is a
terminal, or when ``TOOLMASTER_PROGRESS=1`` asks for them (``0`` turns them off); without
them the trainers log their loss lines and evaluation logs each split's result.
"""

from __future__ import annotations

import os
import sys

__all__ = ["bars_enabled", "quiet_libraries"]


def bars_enabled() -> bool:
    """Whether progress bars should be drawn here."""
    forced = os.environ.get("TOOLMASTER_PROGRESS")
    if forced in ("0", "1"):
        return forced == "1"
    return sys.stderr.isatty()


def quiet_libraries() -> None:
    """Turn off the bars of transformers and datasets (weight loading, dataset maps) when
    :func:`bars_enabled` says no; the trainers' bars follow ``disable_tqdm``."""
    if bars_enabled():
        return
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
