"""Marker-limit benchmark (a script, never a test): how fast an oversized body is refused.

Before the limits, one marker with 5,000 keys took ~50 s and +470 MiB to save
(issue 10, item 9). Now ``articles.services.validate_content`` refuses it
before anything renders. Measured here, against a baseline in the same run
(validating an ordinary body: 200 markers of 1-3 keys), as time and peak
traced memory:

    .venv/bin/python benchmarks/marker_limits.py
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")


def _marker(keys: int) -> str:
    return "[" + "; ".join(f"@key{i}" for i in range(keys)) + "]"


def _measure(label: str, body: str, baseline: float | None = None) -> float:
    from django.core.exceptions import ValidationError

    from articles.services import Content, validate_content

    content = Content(title="T", summary="", body=body, intentional={})
    tracemalloc.start()
    start = time.perf_counter()
    try:
        validate_content(content)
        outcome = "accepted"
    except ValidationError as error:
        outcome = "refused: " + error.message_dict["body"][0][:60]
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ratio = f"  ({elapsed / baseline:.1f}x baseline)" if baseline else ""
    print(f"{label:<34} {elapsed * 1000:8.1f} ms  peak {peak / 2**20:6.1f} MiB{ratio}  {outcome}")
    return elapsed


def main() -> None:
    import django

    django.setup()
    ordinary = "\n\n".join(
        f"Paragraph {i} cites {_marker(1 + i % 3)} and goes on." for i in range(200)
    )
    base = _measure("baseline: 200 ordinary markers", ordinary)
    _measure("one marker, 5,000 keys", f"Text {_marker(5000)}.", base)
    _measure("one marker, 10,000 keys", f"Text {_marker(10000)}.", base)
    _measure("1,001 markers on one line", " ".join(f"[@k{i}]" for i in range(1001)), base)
    _measure("20,000 markers in paragraphs", "\n\n".join(f"[@k{i}]" for i in range(20000)), base)


if __name__ == "__main__":
    main()
