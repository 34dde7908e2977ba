"""Every citation fixture file of the repository, imported through the API.

Runs on SQLite and, in CI's second pass, on PostgreSQL (which refuses what SQLite
stores silently, such as a NUL byte). For each file: no 5xx; a file that cannot be
read is a 400 that stores nothing; otherwise every created entry is stored whole
(every field as parsed) and the same file again creates nothing.
"""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from citations.importers import UnsupportedFormat, parse_file
from citations.models import Source
from citations.services import RECORD_FIELDS, source_to_record
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FILES = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix != ".md")


def _post(user, path: Path):
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    return client_for(user).post("/api/v1/sources/import/", {"file": upload}, format="multipart")


def test_the_fixture_folder_has_every_kind_of_file():
    assert {p.suffix for p in FILES} >= {".bib", ".ris", ".json", ".nbib", ".txt", ".csv"}
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture_imports_whole_or_is_refused_with_a_reason(path, editor):
    response = _post(editor, path)
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert response.json()["file"][0]
        assert Source.objects.count() == 0
        with pytest.raises(UnsupportedFormat):
            parse_file(path.read_bytes(), path.name)
        return
    report = response.json()
    assert report["created"] + report["merged"] + report["refused"] == len(report["entries"])
    assert Source.objects.count() == report["created"]
    parsed = {e.index: e for e in parse_file(path.read_bytes(), path.name)}
    for line in report["entries"]:
        assert (line["source"] is None) == (line["outcome"] == "refused"), line
        if line["outcome"] == "refused":
            assert line["reason"]
            continue
        if line["outcome"] != "created":
            continue
        stored = source_to_record(Source.objects.get(pk=line["source"]))
        record = parsed[line["index"]].record
        for name in RECORD_FIELDS:
            if name != "key":  # a key the library already has is suffixed
                assert stored[name] == record[name], (name, line)
        assert stored["status"] == record["status"]
    again = _post(editor, path).json()
    assert again["created"] == 0, again["entries"]
    assert Source.objects.count() == report["created"]
