"""The source integrity watch against a local server replaying recorded registry answers."""

from __future__ import annotations

import copy
import json

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article
from citations import integrity, registries, tasks
from citations.lookup import lookup_doi
from citations.models import Source, SourceCheck, SourceStatusEvent
from citations.services import source_set_status
from tests.factories import SourceFactory
from tests.helpers import REAL_WORLD, make_article
from tests.workflows.conftest import eager_celery  # noqa: F401 - a fixture
from workflows.models import AuditEvent
from workflows.selectors import URGENCY_CORRECTED, review_queue

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

WAKEFIELD_DOI = "10.1016/s0140-6736(97)11096-0"
WAKEFIELD_NOTICE_DOI = "10.1016/s0140-6736(10)60175-4"
CONCERN_DOI = "10.1371/journal.pone.0064723"
SURGISPHERE_DOI = "10.1016/s0140-6736(20)31180-6"
SURGISPHERE_NOTICE_DOI = "10.1016/s0140-6736(20)31324-6"


@pytest.fixture
def cite(editor, reviewer):
    """``cite(*sources)``: an approved article whose live revision cites them."""

    def make(*sources, **kwargs):
        markers = " ".join(f"[@{s.key}]" for s in sources)
        return make_article(
            editor=editor,
            reviewer=reviewer,
            state="approved",
            body=f"## Evidence\n\nMMR vaccination was linked to autism {markers}.",
            **kwargs,
        )

    return make


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """``run(**kw)``: one run of the watch, with what it queues after commit run eagerly."""

    def go(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return integrity.check_sources(**kwargs)

    return go


def source(**kwargs) -> Source:
    return SourceFactory(**{"doi": "", "pmid": "", **kwargs})


def checks_of(src: Source) -> list[tuple[str, str, str]]:
    return list(
        SourceCheck.objects.filter(source=src)
        .order_by("registry", "id")
        .values_list("registry", "outcome", "found_status")
    )


# --- Crossref ------------------------------------------------------------------------------


def test_crossref_retraction_changes_the_source_through_the_status_service(
    replay, cite, run, editor, reviewer
):
    wakefield = source(doi=WAKEFIELD_DOI)
    article = cite(wakefield)
    mail.outbox.clear()
    result = run()
    wakefield.refresh_from_db()
    assert wakefield.status == "retracted"
    assert wakefield.notice_doi == WAKEFIELD_NOTICE_DOI
    assert wakefield.notice_date.isoformat() == "2010-02-06"
    assert "Crossref" in wakefield.notice_reason and WAKEFIELD_NOTICE_DOI in wakefield.notice_reason
    assert "retraction-watch" in wakefield.notice_reason
    assert wakefield.last_checked is not None
    check = SourceCheck.objects.get(source=wakefield)
    assert (check.registry, check.outcome) == ("crossref", "changed")
    assert check.found_status == "retracted"
    assert check.notice_doi == WAKEFIELD_NOTICE_DOI
    event = SourceStatusEvent.objects.get(source=wakefield)
    assert (event.from_status, event.to_status) == ("active", "retracted")
    assert event.actor is None and event.actor_label == "system"
    # Propagation, notification and review queue follow, as for a reviewer's change.
    article.refresh_from_db()
    assert "citation_retracted" in article.flags
    assert AuditEvent.objects.filter(article=article, action="flag:citation_retracted").exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([editor.email, reviewer.email])
    assert WAKEFIELD_NOTICE_DOI in mail.outbox[0].body
    assert article in review_queue(user=reviewer)
    assert result.changed == 1 and result.checked == 1 and result.errors == 0
    assert result.registries["crossref"]["changed"] == 1
    # The polite pool: mailto on every Crossref request.
    assert replay.requests_to("/works/")[0]["mailto"] == "integrity@example.org"


def test_crossref_expression_of_concern(replay, cite, run):
    plos = source(doi=CONCERN_DOI)
    article = cite(plos)
    run()
    plos.refresh_from_db()
    assert plos.status == "expression_of_concern"
    assert plos.notice_doi == "10.1371/journal.pone.0256488"
    assert plos.notice_date.isoformat() == "2021-10-28"
    article.refresh_from_db()
    assert article.flags == ["citation_concern"]


def test_a_retraction_notice_is_never_taken_for_the_retracted_paper(replay, cite, run):
    notice = source(doi=SURGISPHERE_NOTICE_DOI)  # its updated-by names the paper, reciprocally
    wakefield_notice = source(doi=WAKEFIELD_NOTICE_DOI, pmid="20137807")
    article = cite(notice, wakefield_notice)
    run()
    for src in (notice, wakefield_notice):
        src.refresh_from_db()
        assert src.status == "active"
    assert checks_of(notice) == [("crossref", "unchanged", "active")]
    assert "notice" in SourceCheck.objects.get(source=notice).detail
    assert checks_of(wakefield_notice) == [
        ("crossref", "unchanged", "active"),
        ("pubmed", "unchanged", "active"),
    ]
    assert Article.objects.get(pk=article.pk).flags == []
    assert not SourceStatusEvent.objects.exists()


def test_the_paper_a_reciprocal_notice_retracts_is_retracted(replay, cite, run):
    paper = source(doi=SURGISPHERE_DOI)
    cite(paper)
    run()
    paper.refresh_from_db()
    assert paper.status == "retracted"
    assert paper.notice_doi == SURGISPHERE_NOTICE_DOI


def test_the_metadata_lookup_no_longer_takes_the_notice_for_a_retracted_paper(replay):
    record = lookup_doi(SURGISPHERE_NOTICE_DOI, base_url=replay.url, timeout=5)
    assert record["status"] == "active"
    assert record["title"].startswith("Retraction—Hydroxychloroquine")


def _wakefield_as_corrected_only() -> bytes:
    """The real Wakefield record keeping only its 2004 `correction` entry in updated-by.

    None of the recorded answers has a correction as its most severe update, so this
    excerpt of a real one (the entry itself unchanged) stands for a corrected paper.
    """
    record = copy.deepcopy(
        json.loads((REAL_WORLD / "compare_crossref_wakefield_retracted.json").read_text())
    )
    message = record["message"]
    message["updated-by"] = [u for u in message["updated-by"] if u["type"] == "correction"]
    return json.dumps(record).encode()


def test_a_correction_flags_citation_corrected_quietly_and_low_in_the_queue(
    replay, cite, run, reviewer, client
):
    replay.crossref[WAKEFIELD_DOI] = _wakefield_as_corrected_only()
    corrected = source(doi=WAKEFIELD_DOI)
    article = cite(corrected)
    in_review = make_article(editor=article.owner, reviewer=reviewer, state="submitted")
    mail.outbox.clear()
    run()
    corrected.refresh_from_db()
    assert corrected.status == "corrected"
    assert corrected.notice_doi == "10.1016/s0140-6736(04)15715-2"
    assert corrected.notice_date.isoformat() == "2004-03-06"
    article.refresh_from_db()
    assert article.flags == ["citation_corrected"]
    assert mail.outbox == []  # low priority: the queue, no mail
    queue = list(review_queue(user=reviewer))
    assert queue.index(in_review) < queue.index(article)
    assert queue[queue.index(article)].urgency == URGENCY_CORRECTED
    page = client.get(article.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "Please note" not in html  # no banner
    assert "Corrected" in html and "source-notice" in html  # a note by the reference


# --- PubMed ---------------------------------------------------------------------------------


def test_pubmed_retracted_publication_with_its_latest_retraction_notice(replay, cite, run):
    wakefield = source(pmid="9500320")
    cite(wakefield)
    run()
    wakefield.refresh_from_db()
    assert wakefield.status == "retracted"
    # Two RetractionIn (the 2004 partial one and the 2010 one): the latest is the notice.
    assert wakefield.notice_pmid == "20137807"
    assert wakefield.notice_doi == "10.1016/s0140-6736(10)60175-4"
    assert wakefield.notice_date.isoformat() == "2010-02-06"
    assert "PubMed" in wakefield.notice_reason
    assert checks_of(wakefield) == [("pubmed", "changed", "retracted")]


def test_pubmed_expression_of_concern(replay, cite, run):
    plos = source(pmid="23741377")
    cite(plos)
    run()
    plos.refresh_from_db()
    assert plos.status == "expression_of_concern"
    assert (plos.notice_pmid, plos.notice_doi) == ("34710116", "10.1371/journal.pone.0256488")
    assert plos.notice_date.isoformat() == "2021-10-28"


def test_pubmed_pmids_of_a_batch_go_in_one_efetch_request(replay, cite, run):
    pmids = ["9500320", "20137807", "23741377", "27532363", "15455608", "33069326", "99999999"]
    sources = [source(pmid=p) for p in pmids]
    cite(*sources)
    result = run()
    efetch = replay.requests_to("/efetch.fcgi")
    assert len(efetch) == 1
    assert sorted(efetch[0]["id"].split(",")) == sorted(pmids)
    assert efetch[0]["db"] == "pubmed" and efetch[0]["retmode"] == "xml"
    assert efetch[0]["email"] == "integrity@example.org" and efetch[0]["tool"] == "reviewsite"
    statuses = dict(Source.objects.filter(pmid__in=pmids).values_list("pmid", "status"))
    assert statuses == {
        "9500320": "retracted",
        "20137807": "active",  # the retraction notice, not retracted
        "23741377": "expression_of_concern",
        "27532363": "active",
        "15455608": "active",
        "33069326": "active",
        "99999999": "active",
    }
    assert result.registries["pubmed"]["requests"] == 1
    assert result.registries["pubmed"]["not_found"] == 1
    assert checks_of(sources[-1]) == [("pubmed", "not_found", "")]


def test_pubmed_batches_hold_at_most_200_pmids():
    with pytest.raises(ValueError, match="200"):
        registries.fetch_pubmed(None, [str(n) for n in range(201)])


# --- faults and politeness ------------------------------------------------------------------


def test_crossref_404_is_recorded_as_not_found_and_changes_nothing(replay, cite, run):
    unknown = source(doi="10.5555/no-such-work")
    cite(unknown)
    run()
    unknown.refresh_from_db()
    assert unknown.status == "active" and unknown.last_checked is not None
    assert checks_of(unknown) == [("crossref", "not_found", "")]


def test_429_with_retry_after_then_200_is_retried_and_counts(replay, cite, run):
    replay.script(WAKEFIELD_DOI, (429, {"Retry-After": "0"}, b"Too Many Requests"))
    wakefield = source(doi=WAKEFIELD_DOI)
    cite(wakefield)
    result = run()
    wakefield.refresh_from_db()
    assert wakefield.status == "retracted"
    assert len(replay.requests_to("/works/")) == 2
    assert result.registries["crossref"]["requests"] == 2
    assert checks_of(wakefield) == [("crossref", "changed", "retracted")]


def test_a_registry_that_is_down_changes_nothing_and_is_recorded_as_error(replay, cite, run):
    down = [(503, {}, b"Service Unavailable")] * 3  # first try and both retries
    replay.script(WAKEFIELD_DOI, *down)
    replay.script("efetch", *down)
    wakefield = source(doi=WAKEFIELD_DOI, pmid="9500320")
    article = cite(wakefield)
    mail.outbox.clear()
    result = run()
    wakefield.refresh_from_db()
    assert wakefield.status == "active"
    assert wakefield.last_checked is None  # first in line next time
    assert checks_of(wakefield) == [("crossref", "error", ""), ("pubmed", "error", "")]
    assert "503" in SourceCheck.objects.filter(source=wakefield).first().detail
    assert not SourceStatusEvent.objects.exists()
    assert Article.objects.get(pk=article.pk).flags == []
    assert mail.outbox == []
    assert result.errors == 2
    assert result.registries["crossref"]["requests"] == 3  # bounded retries


def test_an_unreachable_registry_is_an_error_not_a_crash(replay, cite, run, settings):
    settings.REVIEWSITE_PUBMED_URL = "http://127.0.0.1:9"  # discard port: refused
    settings.REVIEWSITE_SOURCE_CHECK_RETRIES = 0
    plos = source(pmid="23741377")
    cite(plos)
    run()
    assert checks_of(plos) == [("pubmed", "error", "")]
    assert "cannot connect" in SourceCheck.objects.get(source=plos).detail


def test_a_long_retry_after_is_capped_so_one_answer_cannot_stall_the_run(replay, settings):
    import threading

    settings.REVIEWSITE_SOURCE_CHECK_MAX_WAIT = 0.1
    replay.script(WAKEFIELD_DOI, (503, {"Retry-After": "3600"}, b"Come back in an hour"))
    client = integrity.clients_from_settings()["crossref"]
    answers = []
    # In a thread, so that an uncapped wait fails the test instead of hanging it.
    worker = threading.Thread(
        target=lambda: answers.append(registries.fetch_crossref(client, WAKEFIELD_DOI)),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "the client waited for the whole Retry-After"
    assert answers[0].outcome == "found" and answers[0].finding.status == "retracted"
    assert client.requests_made == 2


def test_pubmed_xml_entities_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me")
    xml = (
        f'<!DOCTYPE PubmedArticleSet [<!ENTITY e SYSTEM "file://{secret}">]>'
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>"
        '<CommentsCorrectionsList><CommentsCorrections RefType="RetractionIn">'
        "<RefSource>&e;</RefSource></CommentsCorrections></CommentsCorrectionsList>"
        "</MedlineCitation></PubmedArticle></PubmedArticleSet>"
    ).encode()
    finding = registries.pubmed_findings(xml)["1"]
    assert finding.status == "retracted"
    assert "do not read me" not in finding.label


def test_a_registry_slower_than_the_timeout_is_an_error(replay, cite, run, settings):
    settings.REVIEWSITE_SOURCE_CHECK_TIMEOUT = 0.2
    settings.REVIEWSITE_SOURCE_CHECK_RETRIES = 0
    replay.script(WAKEFIELD_DOI, (200, {}, b"{}", 1.0))
    wakefield = source(doi=WAKEFIELD_DOI)
    cite(wakefield)
    run()
    assert checks_of(wakefield) == [("crossref", "error", "")]
    assert "no answer within 0.2 s" in SourceCheck.objects.get(source=wakefield).detail
    assert Source.objects.get(pk=wakefield.pk).status == "active"


def test_the_client_follows_the_rate_limit_the_registry_announces(replay):
    replay.headers = {"X-Rate-Limit-Limit": "4", "X-Rate-Limit-Interval": "1s"}
    client = integrity.clients_from_settings()["crossref"]
    assert client.interval == 0
    registries.fetch_crossref(client, WAKEFIELD_DOI)
    assert client.interval == 0.25


# --- runs -----------------------------------------------------------------------------------


def test_a_second_run_changes_nothing_and_sends_nothing(replay, cite, run):
    wakefield = source(doi=WAKEFIELD_DOI, pmid="9500320")
    plos = source(doi=CONCERN_DOI)
    cite(wakefield, plos)
    run()
    events, audits = SourceStatusEvent.objects.count(), AuditEvent.objects.count()
    sent = len(mail.outbox)
    second = run()
    assert second.changed == 0 and second.checked == 2
    assert SourceStatusEvent.objects.count() == events
    assert AuditEvent.objects.count() == audits
    assert len(mail.outbox) == sent
    assert SourceCheck.objects.filter(outcome="changed").count() == 2
    assert SourceCheck.objects.filter(outcome="unchanged").count() == 4  # 3 now + pubmed before


def test_a_status_a_person_set_is_never_lowered(replay, cite, run, reviewer):
    plos = source(doi=CONCERN_DOI)  # Crossref says: expression of concern
    withdrawn = source(doi=WAKEFIELD_DOI)  # Crossref says: retracted (as severe)
    cite(plos, withdrawn)
    source_set_status(source_id=plos.pk, actor=reviewer, status="retracted", reason="By hand")
    source_set_status(source_id=withdrawn.pk, actor=reviewer, status="withdrawn", reason="Hand")
    run()
    plos.refresh_from_db()
    withdrawn.refresh_from_db()
    assert (plos.status, plos.notice_reason) == ("retracted", "By hand")
    assert (withdrawn.status, withdrawn.notice_reason) == ("withdrawn", "Hand")
    check = SourceCheck.objects.get(source=plos)
    assert (check.outcome, check.found_status) == ("unchanged", "expression_of_concern")
    assert "retracted kept" in check.detail
    assert SourceStatusEvent.objects.filter(actor_label="system").count() == 0


def test_a_lost_worker_redoes_the_run_without_double_events_or_mail(
    replay, cite, run, django_capture_on_commit_callbacks
):
    first, second = source(doi=WAKEFIELD_DOI), source(doi=CONCERN_DOI)
    cite(first, second)
    mail.outbox.clear()

    class Dies(registries.RegistryClient):
        def get(self, path, params=None):
            if CONCERN_DOI in path:
                raise SystemExit("worker lost")  # mid-run, after the first batch committed
            return super().get(path, params)

    clients = integrity.clients_from_settings()
    clients["crossref"] = Dies("crossref", replay.url, timeout=5)
    with pytest.raises(SystemExit):
        run(batch_size=1, clients=clients)
    assert Source.objects.get(pk=first.pk).status == "retracted"
    assert Source.objects.get(pk=second.pk).status == "active"
    mails = len(mail.outbox)
    run(batch_size=1)  # the redelivered task
    assert Source.objects.get(pk=second.pk).status == "expression_of_concern"
    assert SourceStatusEvent.objects.filter(source=first).count() == 1
    assert SourceStatusEvent.objects.filter(source=second).count() == 1
    recipients = {m.to[0] for m in mail.outbox}
    assert len(mail.outbox) == mails + len(recipients)  # only the second source's mail


def test_only_cited_sources_least_recently_checked_first_and_capped(replay, cite, run):
    uncited = source(doi="10.5555/uncited")
    a, b, c = source(doi="10.5555/a"), source(doi="10.5555/b"), source(doi="10.5555/c")
    cite(a, b, c)
    run(limit=2)
    checked = set(SourceCheck.objects.values_list("source_id", flat=True))
    assert checked == {a.pk, b.pk}
    run(limit=2)
    latest = SourceCheck.objects.order_by("-id").values_list("source_id", flat=True)[:2]
    assert set(latest) == {c.pk, a.pk}  # never-checked c first, then the oldest
    assert not SourceCheck.objects.filter(source=uncited).exists()
    run(source_ids=[uncited.pk])  # asked for by id: checked even though nobody cites it
    assert SourceCheck.objects.filter(source=uncited).count() == 1


def test_queries_per_batch_do_not_grow_with_its_sources(replay, cite, run):
    def queries_for(n: int, prefix: str, base: int) -> int:
        sources = [source(doi=f"10.5555/{prefix}{i}", pmid=str(base + i)) for i in range(n)]
        cite(*sources, title=f"Batch {prefix}")
        with CaptureQueriesContext(connection) as captured:
            result = run(source_ids=[s.pk for s in sources])
        assert result.checked == n and result.errors == 0
        return len(captured)

    small, large = queries_for(3, "small", 80000000), queries_for(40, "large", 80001000)
    assert small == large
    assert large <= 7


def test_query_count_of_one_batch_is_pinned(replay, cite, run, django_assert_max_num_queries):
    sources = [source(doi=f"10.5555/q{i}", pmid=str(81000000 + i)) for i in range(25)]
    cite(*sources)
    # ids, the batch, (savepoint) its rows locked, the checks inserted, last_checked
    # stamped (release): 7, for one batch of any size up to 200.
    with django_assert_max_num_queries(7):
        result = run()
    assert result.checked == 25


# --- switches, task, command ----------------------------------------------------------------


def test_off_by_default(settings, replay):
    settings.REVIEWSITE_SOURCE_CHECK_ENABLED = False
    with pytest.raises(integrity.ChecksDisabled):
        integrity.check_sources()
    assert tasks.check_sources() == {"disabled": True}
    with pytest.raises(CommandError, match="REVIEWSITE_SOURCE_CHECK_ENABLED"):
        call_command("check_sources")


def test_beat_runs_the_task_daily_at_the_configured_time(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["check-sources"]
    assert entry["task"] == "citations.tasks.check_sources"
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {45}


def test_the_task_returns_the_summary(replay, cite, django_capture_on_commit_callbacks):
    wakefield = source(doi=WAKEFIELD_DOI)
    cite(wakefield)
    with django_capture_on_commit_callbacks(execute=True):
        summary = tasks.check_sources.delay().get()
    assert summary["checked"] == 1 and summary["changed"] == 1
    assert summary["registries"]["crossref"]["changed"] == 1
    assert summary["changes"][0]["to"] == "retracted"


def test_the_command_checks_the_named_sources_and_prints_a_summary(replay, capsys):
    wakefield = source(doi=WAKEFIELD_DOI, pmid="9500320")
    other = source(doi=CONCERN_DOI)
    call_command("check_sources", "--source", str(wakefield.pk))
    out = capsys.readouterr().out
    assert "Checked 1 sources: 1 changed, 0 errors." in out
    assert "Crossref: 0 unchanged, 1 changed, 0 not found, 0 error (1 requests)" in out
    assert "PubMed: 1 unchanged, 0 changed, 0 not found, 0 error (1 requests)" in out
    assert f"{wakefield.key} (#{wakefield.pk}): active → retracted" in out
    assert not SourceCheck.objects.filter(source=other).exists()
    call_command("check_sources", "--source", str(wakefield.pk), str(other.pk))
    assert "Checked 2 sources: 1 changed, 0 errors." in capsys.readouterr().out
