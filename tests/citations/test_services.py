"""Source services: create, edit, status, and the import's merge and isolation rules."""

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from citations import services
from citations.importers.common import blank_record
from citations.models import Source, SourceStatusEvent
from citations.signals import source_status_changed
from tests import factories

pytestmark = pytest.mark.django_db


def _bib(*entries: str) -> bytes:
    return "\n".join(entries).encode()


def _article(key: str, title: str, *, year="2020", doi="", pmid="", author="Smith, John", extra=""):
    fields = [f"title = {{{title}}}", f"author = {{{author}}}", f"year = {{{year}}}"]
    if doi:
        fields.append(f"doi = {{{doi}}}")
    if pmid:
        fields.append(f"pmid = {{{pmid}}}")
    if extra:
        fields.append(extra)
    return f"@article{{{key},\n  " + ",\n  ".join(fields) + "\n}"


@pytest.fixture
def receiver():
    received = []

    def on_change(sender, **kwargs):
        received.append(kwargs)

    source_status_changed.connect(on_change)
    yield received
    source_status_changed.disconnect(on_change)


# --- create / update / status ------------------------------------------------------------------


def test_source_create_refuses_a_reviewer(reviewer):
    with pytest.raises(PermissionDenied):
        services.source_create(actor=reviewer, data={"title": "T"})


def test_source_create_names_field_and_value_of_a_bad_doi(editor):
    with pytest.raises(ValidationError) as error:
        services.source_create(actor=editor, data={"title": "T", "doi": "10.12/x"})
    assert "10.12/x" in error.value.message_dict["doi"][0]


def test_source_create_refuses_an_existing_key_naming_the_owner(editor):
    factories.SourceFactory(key="smith2020")
    with pytest.raises(ValidationError) as error:
        services.source_create(actor=editor, data={"title": "T", "key": "smith2020"})
    assert "smith2020" in error.value.message_dict["key"][0]


def test_source_create_with_a_retracted_status_records_the_event_and_signals(
    editor, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        source = services.source_create(actor=editor, data={"title": "T", "status": "retracted"})
    assert [r["new_status"] for r in receiver] == ["retracted"]
    assert SourceStatusEvent.objects.filter(source=source, to_status="retracted").exists()


def test_source_update_keeps_status_out_of_reach(editor):
    source = factories.SourceFactory()
    services.source_update(
        source_id=source.pk, actor=editor, data={"status": "retracted", "volume": "9"}
    )
    source.refresh_from_db()
    assert (source.status, source.volume) == ("active", "9")


def test_source_set_status_is_for_reviewers_not_managing_editors(managing_editor, reviewer):
    source = factories.SourceFactory()
    with pytest.raises(PermissionDenied):
        services.source_set_status(source_id=source.pk, actor=managing_editor, status="retracted")
    services.source_set_status(source_id=source.pk, actor=reviewer, status="retracted")
    source.refresh_from_db()
    assert source.status == "retracted"


def test_source_set_status_refuses_an_impossible_notice_date(reviewer):
    source = factories.SourceFactory()
    with pytest.raises(ValidationError) as error:
        services.source_set_status(
            source_id=source.pk, actor=reviewer, status="retracted", notice_date="2020-02-30"
        )
    assert "2020-02-30" in error.value.message_dict["notice_date"][0]


def test_source_set_status_accepts_a_partial_notice_date(reviewer):
    source = factories.SourceFactory()
    source = services.source_set_status(
        source_id=source.pk, actor=reviewer, status="corrected", notice_date="2020-03"
    )
    assert source.notice_date.isoformat() == "2020-03-01"


# --- import: create, merge ---------------------------------------------------------------------


def test_import_creates_each_entry_and_reports_its_source(editor):
    data = _bib(
        _article("a2020", "Alpha trial", doi="10.1000/a"),
        _article("b2020", "Beta trial", pmid="123"),
    )
    report = services.source_import(actor=editor, data=data, filename="refs.bib")
    assert (report["created"], report["merged"], report["refused"]) == (2, 0, 0)
    stored = {s.key: s for s in Source.objects.all()}
    assert [line["source"] for line in report["entries"]] == [
        stored["a2020"].pk,
        stored["b2020"].pk,
    ]
    assert stored["a2020"].created_by == editor
    assert stored["a2020"].title_signature == "alpha trial|2020|smith"


def test_importing_the_same_file_twice_merges_everything_and_creates_nothing(editor):
    data = _bib(
        _article("a2020", "Alpha trial", doi="10.1000/a"),
        _article("b2020", "Beta trial", pmid="123"),
        _article("c2020", "Gamma trial"),
    )
    first = services.source_import(actor=editor, data=data, filename="refs.bib")
    second = services.source_import(actor=editor, data=data, filename="refs.bib")
    assert (second["created"], second["merged"], second["refused"]) == (0, 3, 0)
    assert [line["source"] for line in second["entries"]] == [
        line["source"] for line in first["entries"]
    ]
    reasons = [line["reason"] for line in second["entries"]]
    assert "same DOI" in reasons[0]
    assert "same PMID" in reasons[1]
    assert "same title, year and first author" in reasons[2]
    assert Source.objects.count() == 3


def test_merge_fills_empty_fields_and_never_overwrites(editor):
    existing = factories.SourceFactory(
        key="kept", doi="10.1000/m", title="Original title", volume="", pages="", pmid=""
    )
    data = _bib(
        _article(
            "other",
            "Another title",
            doi="https://doi.org/10.1000/M",
            pmid="777",
            extra="volume = {42}, pages = {1--9}",
        )
    )
    report = services.source_import(actor=editor, data=data, filename="r.bib")
    assert report["merged"] == 1
    assert "filled" in report["entries"][0]["reason"]
    existing.refresh_from_db()
    assert (existing.key, existing.title) == ("kept", "Original title")
    assert (existing.volume, existing.pages, existing.pmid) == ("42", "1-9", "777")


def test_merge_does_not_take_a_pmid_another_source_has(editor):
    by_doi = factories.SourceFactory(doi="10.1000/d", pmid="")
    by_pmid = factories.SourceFactory(doi="", pmid="888")
    data = _bib(_article("x", "X", doi="10.1000/d", pmid="888"))
    report = services.source_import(actor=editor, data=data, filename="r.bib")
    assert report["entries"][0]["source"] == by_doi.pk
    by_doi.refresh_from_db()
    by_pmid.refresh_from_db()
    assert (by_doi.pmid, by_pmid.pmid) == ("", "888")


def test_merge_upgrades_the_status_records_an_event_and_signals_after_commit(
    editor, receiver, django_capture_on_commit_callbacks
):
    existing = factories.SourceFactory(pmid="23741377", status="corrected")
    medline = (
        b"PMID- 23741377\nTI  - A paper.\nDP  - 2013\nAU  - Doe J\nPT  - Retracted Publication\n"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = services.source_import(actor=editor, data=medline, filename="r.nbib")
    assert report["merged"] == 1
    assert receiver == []
    for callback in callbacks:
        callback()
    existing.refresh_from_db()
    assert existing.status == "retracted"
    assert receiver == [
        {
            "signal": source_status_changed,
            "source_id": existing.pk,
            "old_status": "corrected",
            "new_status": "retracted",
            "actor_id": editor.pk,
        }
    ]
    assert SourceStatusEvent.objects.get(source=existing).from_status == "corrected"


def test_an_import_never_lowers_a_status(editor, receiver, django_capture_on_commit_callbacks):
    existing = factories.SourceFactory(doi="10.1000/r", status="retracted")
    with django_capture_on_commit_callbacks(execute=True):
        services.source_import(
            actor=editor, data=_bib(_article("r", "R", doi="10.1000/r")), filename="r.bib"
        )
    existing.refresh_from_db()
    assert existing.status == "retracted"
    assert receiver == []


def test_a_later_entry_merges_into_one_created_earlier_in_the_same_file(editor):
    data = _bib(
        _article("first", "Same study", year="2019", author="Lee, Kim"),
        _article("second", "Same study.", year="2019", author="Lee, K.", pmid="4321"),
    )
    report = services.source_import(actor=editor, data=data, filename="r.bib")
    assert [line["outcome"] for line in report["entries"]] == ["created", "merged"]
    assert report["entries"][1]["source"] == report["entries"][0]["source"]
    source = Source.objects.get()
    assert (source.key, source.pmid) == ("first", "4321")


def test_a_key_taken_by_another_source_is_suffixed_and_reported(editor):
    factories.SourceFactory(key="smith2020", title="Unrelated", doi="10.1000/u")
    factories.SourceFactory(key="smith2020-2", title="Unrelated too", doi="10.1000/v")
    report = services.source_import(
        actor=editor, data=_bib(_article("smith2020", "New one")), filename="r.bib"
    )
    line = report["entries"][0]
    assert line["outcome"] == "created"
    assert "smith2020-3" in line["reason"]
    assert Source.objects.get(pk=line["source"]).key == "smith2020-3"


def test_a_pmcid_owned_by_another_source_is_refused_with_the_owner(editor):
    factories.SourceFactory(key="owner", pmcid="PMC99")
    data = b'[{"id": "x", "title": "T", "PMCID": "PMC99", "issued": {"date-parts": [[2020]]}}]'
    report = services.source_import(actor=editor, data=data, filename="r.json")
    assert report["refused"] == 1
    assert "owner" in report["entries"][0]["reason"]


# --- import: isolation -------------------------------------------------------------------------


def test_a_bad_entry_does_not_stop_the_others(editor):
    data = _bib(
        _article("good1", "Good one"),
        _article("bad", "Bad DOI", doi="not-a-doi"),
        _article("good2", "Good two"),
    )
    report = services.source_import(actor=editor, data=data, filename="r.bib")
    assert [line["outcome"] for line in report["entries"]] == ["created", "refused", "created"]
    assert "not-a-doi" in report["entries"][1]["reason"]
    assert set(Source.objects.values_list("key", flat=True)) == {"good1", "good2"}


def test_an_overlong_field_is_refused_and_nothing_of_it_is_stored(editor):
    data = _bib(_article("long", "Long", extra="volume = {" + "9" * 80 + "}"), _article("ok", "Ok"))
    report = services.source_import(actor=editor, data=data, filename="r.bib")
    assert report["entries"][0]["outcome"] == "refused"
    assert "volume" in report["entries"][0]["reason"]
    assert list(Source.objects.values_list("key", flat=True)) == ["ok"]


def test_the_batch_insert_refuses_a_taken_doi_as_an_integrity_error(editor):
    """The batch insert (one INSERT per thousand rows; COPY on PostgreSQL) fails on a
    unique index as Django's IntegrityError, which sends the batch to the row-at-a-time
    path, and stores nothing of the batch."""
    Source.objects.create(key="taken", title="Taken", doi="10.1000/taken")
    records = [
        {**blank_record(), "key": "fresh", "title": "Fresh", "doi": "10.1000/fresh"},
        {**blank_record(), "key": "clash", "title": "Clash", "doi": "10.1000/taken"},
    ]
    batch = [services._new_source(record, editor) for record in records]
    with pytest.raises(IntegrityError), transaction.atomic():
        services._insert_sources(batch)
    assert list(Source.objects.values_list("key", flat=True)) == ["taken"]
    services._insert_sources(batch[:1])  # and a batch that fits is stored, ids set
    stored = Source.objects.get(key="fresh")
    assert batch[0].pk == stored.pk and stored.doi == "10.1000/fresh"
    assert stored.created_by == editor


def test_an_entry_that_fails_at_insert_is_refused_whole_and_the_others_are_stored(
    editor, monkeypatch
):
    """A database error on one row (e.g. a concurrent writer took its DOI) refuses only it."""
    real_save = Source.save

    def save(self, *args, **kwargs):
        if self.key == "victim":
            raise IntegrityError("UNIQUE constraint failed: citations_source.doi")
        return real_save(self, *args, **kwargs)

    def insert_sources(objs):
        if any(o.key == "victim" for o in objs):
            raise IntegrityError("UNIQUE constraint failed: citations_source.doi")
        return real_insert(objs)

    real_insert = services._insert_sources  # the import's batch insert
    monkeypatch.setattr(Source, "save", save)
    monkeypatch.setattr(services, "_insert_sources", insert_sources)
    data = _bib(
        _article("before", "Before"),
        _article("victim", "Victim", doi="10.1000/v"),
        _article("again", "Victim", year="2020"),  # merges into the victim: refused too
        _article("after", "After"),
    )
    report = services.source_import(actor=editor, data=data, filename="r.bib")
    assert [line["outcome"] for line in report["entries"]] == [
        "created",
        "refused",
        "refused",
        "created",
    ]
    assert "conflicts" in report["entries"][1]["reason"]
    assert report["entries"][2]["source"] is None
    assert (report["created"], report["refused"]) == (2, 2)
    assert set(Source.objects.values_list("key", flat=True)) == {"before", "after"}
    assert not Source.objects.filter(doi="10.1000/v").exists()


def test_new_sources_are_inserted_in_batches(editor, django_assert_max_num_queries):
    entries = [_article(f"k{i}", f"Study number {i}", doi=f"10.1000/{i}") for i in range(120)]
    # A handful of prefetches and batched inserts, not several queries per entry.
    with django_assert_max_num_queries(20):
        report = services.source_import(actor=editor, data=_bib(*entries), filename="r.bib")
    assert report["created"] == 120


def test_reimport_costs_no_queries_per_unchanged_entry(editor, django_assert_max_num_queries):
    entries = [_article(f"k{i}", f"Study number {i}", doi=f"10.1000/{i}") for i in range(120)]
    services.source_import(actor=editor, data=_bib(*entries), filename="r.bib")
    with django_assert_max_num_queries(10):
        report = services.source_import(actor=editor, data=_bib(*entries), filename="r.bib")
    assert report["merged"] == 120


def test_the_import_command_actor_none_is_the_system():
    report = services.source_import(actor=None, data=_bib(_article("s", "S")), filename="r.bib")
    assert report["created"] == 1
    assert Source.objects.get().created_by is None


def test_import_refuses_a_reviewer(reviewer):
    with pytest.raises(PermissionDenied):
        services.source_import(actor=reviewer, data=_bib(_article("s", "S")), filename="r.bib")


# --- citing count ------------------------------------------------------------------------------


def test_sources_with_citing_count_is_zero_without_citations():
    factories.SourceFactory.create_batch(2)
    assert [s.citing_count for s in services.sources_with_citing_count()] == [0, 0]


def test_csl_json_journal_abbreviation_is_kept_and_printed_in_ama(editor):
    from articles.services import render_body

    data = (
        Path(__file__).resolve().parents[2] / "workflows" / "demo" / "ms-sources.json"
    ).read_bytes()
    services.source_import(actor=editor, data=data, filename="ms-sources.json")
    trapp = Source.objects.get(key="trapp1998")
    assert trapp.container_title == "New England Journal of Medicine"
    assert trapp.container_title_short == "N Engl J Med"
    entry = render_body("Axons [@trapp1998].").citations[0].entry_html
    assert "<i>N Engl J Med</i>" in entry
