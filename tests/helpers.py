"""Helpers shared by the test packages (imported explicitly, never through conftest)."""

from pathlib import Path

#: Real exported and registry-returned citation files, copied into the repository
#: with their provenance (see PROVENANCE.md in the folder).
REAL_WORLD = Path(__file__).resolve().parent / "citations" / "fixtures" / "real-world"


def real_world_files() -> list[Path]:
    """Every real-world fixture file, without its provenance notes."""
    return sorted(p for p in REAL_WORLD.iterdir() if p.is_file() and p.suffix != ".md")
