"""Figure benchmarks (a script, never a test): upload processing and rendering.

(a) ``figure_upload`` of a 3000 × 2000 JPEG (decode, orientation, full-size re-encode,
    three responsive sizes, storage, row) against the least any upload that strips
    metadata must do: decode it and re-encode it once with Pillow. Ratio of medians.
(b) ``render_body`` of a body with 20 figures against the same body with each figure
    line replaced by a paragraph of the same length (the baseline), as a ratio, and
    the queries each render makes (figures are resolved in one query).

Usage (throwaway databases and media only; the SQLite file is deleted first)::

    .venv/bin/python benchmarks/figures_bench.py
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench-figures.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")
os.environ["REVIEWSITE_MEDIA_ROOT"] = tempfile.mkdtemp(prefix="bench-media-")


def _setup() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        sys.exit("Run on a throwaway SQLite file (the default).")
    path = Path(url[len("sqlite:///") :])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _median(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _photo() -> bytes:
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((3000, 2000))
    image = Image.merge("RGB", (gradient, gradient.rotate(90, expand=False), gradient))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def main() -> None:
    _setup()
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from PIL import Image

    from articles.services import figure_upload, render_body

    editor = User.objects.create_superuser("bench", "bench@example.org", "x")
    data = _photo()
    print(f"(a) upload of a 3000 x 2000 JPEG ({len(data) / 1024:.0f} KB), median of 5")

    def baseline():
        image = Image.open(io.BytesIO(data))
        image.load()
        image.save(io.BytesIO(), format="JPEG", quality=85)

    def upload():
        figure_upload(actor=editor, file=SimpleUploadedFile("p.jpg", data), alt_text="Photo")

    base, ours = _median(baseline, 5), _median(upload, 5)
    print(f"    decode + one re-encode: {base * 1000:.0f} ms")
    print(f"    figure_upload:          {ours * 1000:.0f} ms  (ratio {ours / base:.2f})")

    figures = [figure_upload(actor=editor, file=SimpleUploadedFile("p.jpg", data), alt_text="x")]
    figures *= 20
    text = "Relapses are periods of new or worse symptoms. " * 8
    with_figures = "\n\n".join(f"{text}\n\n![Scan](figure:{f.pk})" for f in figures)
    without = "\n\n".join(f"{text}\n\n{'A paragraph of text. ' * 1}" for _ in figures)
    print("(b) render_body, 20 paragraphs with a figure each vs plain paragraphs, median of 20")
    base, ours = (
        _median(lambda: render_body(without), 20),
        _median(lambda: render_body(with_figures), 20),
    )
    with CaptureQueriesContext(connection) as plain_q:
        render_body(without)
    with CaptureQueriesContext(connection) as figure_q:
        render_body(with_figures)
    print(f"    plain:   {base * 1000:.1f} ms, {len(plain_q)} queries")
    print(f"    figures: {ours * 1000:.1f} ms, {len(figure_q)} queries  (ratio {ours / base:.2f})")


if __name__ == "__main__":
    main()
