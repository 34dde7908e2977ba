"""Readability benchmark (a script, never a test): what scoring adds to saving a revision.

Scores the demo articles' bodies with ``articles.readability.readability`` and, as the
baseline in the same run, renders the same bodies with ``articles.services.render_body``
(the Markdown and citation rendering every save already does). Prints the time per body
of each and their ratio, plus the one-off cost of loading the CMU dictionary.

Usage::

    .venv/bin/python benchmarks/readability_bench.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench-readability.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from articles import readability as scoring
    from articles.services import render_body

    bodies = [
        path.read_text("utf-8").split("---", 2)[-1]
        for path in sorted((ROOT / "workflows" / "demo").glob("*.md"))
    ]
    started = time.perf_counter()
    scoring._pronunciations()
    load = time.perf_counter() - started

    def per_body(function) -> float:
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            for body in bodies:
                function(body)
            times.append((time.perf_counter() - started) / len(bodies))
        return statistics.median(times)

    scoring.syllables.cache_clear()
    readability = per_body(scoring.readability)
    rendering = per_body(render_body)
    words = statistics.mean(scoring.readability(b)["words"] for b in bodies)
    print(f"{len(bodies)} demo bodies, {words:.0f} words on average, {args.rounds} rounds")
    print(f"CMU dictionary load (once per process): {load * 1000:.0f} ms")
    print(f"readability per body:  {readability * 1000:.2f} ms")
    print(f"render_body per body:  {rendering * 1000:.2f} ms (baseline: done at every save)")
    print(f"ratio readability / rendering: {readability / rendering:.2f}")


if __name__ == "__main__":
    main()
