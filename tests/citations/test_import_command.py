"""``manage.py import_sources``: per-entry report, totals, exit status."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from citations.models import Source
from tests import factories

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_sources", *args, stdout=out, stderr=err, no_color=True)
    return out.getvalue(), err.getvalue()


def test_import_sources_prints_each_entry_and_the_totals():
    out, _ = _run(str(FIXTURES / "two_records.ris"), str(FIXTURES / "records.nbib"))
    created = Source.objects.count()
    assert created >= 3
    assert out.count(" created -> source ") == created
    assert "two_records.ris:" in out
    # two_records.ris carries one entry with a malformed DOI, refused with its reason.
    assert "#2 (no key) refused: invalid doi '11.5555/not.a.doi'" in out
    assert f"Total: {created} created, 0 merged, 1 refused in 2 file(s)" in out


def test_import_sources_twice_merges_everything():
    _run(str(FIXTURES / "two_records.ris"))
    count = Source.objects.count()
    out, _ = _run(str(FIXTURES / "two_records.ris"))
    assert Source.objects.count() == count
    assert f"Total: 0 created, {count} merged, 1 refused" in out


def test_import_sources_as_an_editor_records_the_creator():
    editor = factories.editor(username="eddie")
    _run(str(FIXTURES / "single.json"), "--as", "eddie")
    assert set(Source.objects.values_list("created_by", flat=True)) == {editor.pk}


def test_import_sources_as_a_user_without_the_role_fails():
    factories.UserFactory(username="reader")
    with pytest.raises(CommandError, match="Editors"):
        _run(str(FIXTURES / "single.json"), "--as", "reader")
    assert Source.objects.count() == 0


def test_import_sources_as_an_unknown_user_fails():
    with pytest.raises(CommandError, match="nobody"):
        _run(str(FIXTURES / "single.json"), "--as", "nobody")


def test_an_unreadable_file_fails_the_command_after_importing_the_others(tmp_path):
    missing = tmp_path / "missing.bib"
    with pytest.raises(CommandError, match="missing.bib"):
        _run(str(missing), str(FIXTURES / "two_records.ris"))
    assert Source.objects.count() == 2


def test_an_unsupported_format_fails_the_command(tmp_path):
    odd = tmp_path / "notes.docx"
    odd.write_bytes(b"just words")
    with pytest.raises(CommandError, match="1 file"):
        _run(str(odd))


def test_format_option_overrides_detection(tmp_path):
    renamed = tmp_path / "export.dat"
    renamed.write_bytes((FIXTURES / "two_records.ris").read_bytes())
    out, _ = _run(str(renamed), "--format", "ris")
    assert "Total: 2 created" in out


def test_refused_entries_are_printed_with_their_reason(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{bad, title={T}, doi={nope}, year={2020}}\n@article{ok, title={Ok}}\n")
    out, _ = _run(str(bib))
    assert "#1 bad refused: invalid doi 'nope'" in out
    assert "Total: 1 created, 0 merged, 1 refused" in out


def test_the_command_exits_non_zero_from_the_shell(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "import_sources", str(tmp_path / "missing.bib")],
        cwd=root,
        capture_output=True,
        text=True,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode != 0
    assert "missing.bib" in result.stderr
