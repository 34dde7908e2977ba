"""The one machine-readable line every benchmark prints for ``benchmarks/run.py``.

``emit(...)`` prints ``BENCH {json}``: the measure, our number, the baseline measured in
the same run, the unit, whether higher is better, the goal as a ratio, whether it is met,
and free text. The runner parses these lines; people read the lines printed above them.
"""

from __future__ import annotations

import json
import os


def emit(
    measure: str,
    ours: float,
    baseline: float | None,
    *,
    unit: str,
    higher_is_better: bool,
    goal: float | None = None,
    detail: str = "",
) -> dict:
    """Print and return one result; ``goal`` is the ratio ours/baseline to reach."""
    ratio = ours / baseline if baseline else None
    met = None
    if goal is not None and ratio is not None:
        met = ratio >= goal if higher_is_better else ratio <= goal
    result = {
        "measure": measure,
        "ours": ours,
        "baseline": baseline,
        "unit": unit,
        "higher_is_better": higher_is_better,
        "ratio": ratio,
        "goal": goal,
        "met": met,
        "detail": detail,
        "load": os.getloadavg()[0],
    }
    print("BENCH " + json.dumps(result), flush=True)
    return result
