"""Set-based jobs: the stale-review sweep and retraction propagation.

Both derive an article's flags from the current state of the database, so running
them again changes nothing. Each writes its audit events with one
``INSERT … SELECT`` per kind of change and its flags with one ``UPDATE``, so the
number of queries does not grow with the number of articles.

Runs of one job for one key are serialised (``_lock``): two runs at once (a source
changed twice quickly, a manual sweep while beat runs, a message redelivered while its
first delivery still runs) would otherwise both see the same articles as unchanged and
audit each change twice. Propagation runs in chunks of
``REVIEWSITE_PROPAGATION_CHUNK`` articles, one task each, so no task runs anywhere
near the broker's visibility timeout, and mails one digest per recipient at the end.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.db.models.sql import Query
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from articles import page_cache
from articles.claims import claims_by_revision
from articles.models import Article, RevisionCitation, live_q
from citations.models import Source

from . import mail, notifications, outbox
from .models import AuditEvent, ReviewAssignment

#: How many slugs per kind of change a result keeps for reports (counts are exact).
REPORT_LIMIT = 1000
#: How many articles a digest lists per flag before saying "and N more".
DIGEST_LIST_LIMIT = 50
#: PostgreSQL ``work_mem`` for the sweep's transaction: its digest sort of every newly
#: flagged article (about 40 bytes a row, two per article) stays in memory at 1M articles.
SWEEP_WORK_MEM = "64MB"

OVERDUE = "review_overdue"
DUE_SOON = "review_due_soon"
RETRACTED = "citation_retracted"
CONCERN = "citation_concern"
CORRECTED = "citation_corrected"


#: Advisory-lock class ids, one per job (the key is the second half of the lock).
_LOCK_IDS = {"flag_stale": 1, "propagate": 2}


# --- shared set-based helpers ------------------------------------------------------------


def _lock(job: str, key: int = 0) -> None:
    """Wait until no other run of ``job`` for ``key`` is inside a transaction, then hold
    that until this transaction ends.

    PostgreSQL: a transaction-level advisory lock (released at commit or rollback, so a
    killed worker never leaves it behind). SQLite: nothing to do, because every
    transaction here is ``BEGIN IMMEDIATE`` (settings), which already lets one writer
    in at a time. Must be the first statement of the job's transaction, so every read
    after it sees what the previous run committed.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_IDS[job], key & 0x7FFFFFFF])


def _insert_audit_events(rows: QuerySet[Article], *, action: str, comment: str, at) -> int:
    """``INSERT INTO auditevent … SELECT`` one event per article in ``rows``; returns the count.

    The ORM has no INSERT … SELECT; the SELECT is compiled by the ORM (so it is
    correct on every backend) and only the INSERT head is written here.
    """
    select = rows.order_by().values(
        _article=F("pk"),
        _revision=F("live_revision_id"),
        _actor=Cast(Value(None), BigIntegerField()),
        _action=Value(action, output_field=CharField()),
        _from=F("status"),
        _to=F("status"),
        _comment=Value(comment, output_field=CharField()),
        _refused=Value(False, output_field=BooleanField()),
        _reason=Value("", output_field=CharField()),
        _at=Value(at, output_field=DateTimeField()),
    )
    sql, params = select.query.sql_with_params()
    opts = AuditEvent._meta
    columns = ", ".join(
        connection.ops.quote_name(opts.get_field(name).column)
        for name in (
            "article",
            "revision",
            "actor",
            "action",
            "from_status",
            "to_status",
            "comment",
            "refused",
            "reason",
            "at",
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(opts.db_table)} ({columns}) {sql}",  # noqa: S608
            params,
        )
        return cursor.rowcount


def _slugs(rows: QuerySet[Article]) -> list[str]:
    return list(rows.order_by().values_list("slug", flat=True)[:REPORT_LIMIT])


def _apply_changes(
    changes: dict[str, tuple[QuerySet[Article], str]], *, at, report: bool
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Audit every change (one INSERT … SELECT per kind) before the flags are updated.

    ``report`` also reads up to REPORT_LIMIT slugs per kind (one more query each).
    """
    counts, slugs = {}, {}
    for action, (rows, comment) in changes.items():
        slugs[action] = _slugs(rows) if report else []
        if report and not slugs[action]:
            counts[action] = 0
        else:
            counts[action] = _insert_audit_events(rows, action=action, comment=comment, at=at)
    return counts, slugs


def _recipient_rows(articles: QuerySet[Article], columns) -> QuerySet:
    """(recipient, article columns…) for the owner and the reviewers of ``articles``.

    Reviewers are the assigned ones, or the last reviewer when nobody is assigned.
    ``columns(prefix)`` gives the article columns as seen through ``prefix``. One
    UNION query, ordered by recipient.
    """
    ids = articles.order_by().values("pk")
    owners = (
        Article.objects.filter(pk__in=ids).order_by().values(recipient=F("owner_id"), **columns(""))
    )
    assigned = (
        ReviewAssignment.objects.filter(article__in=ids)
        .order_by()
        .values(recipient=F("reviewer_id"), **columns("article__"))
    )
    last = (
        Article.objects.filter(pk__in=ids, last_reviewed_by__isnull=False)
        .exclude(Exists(ReviewAssignment.objects.filter(article=OuterRef("pk"))))
        .order_by()
        .values(recipient=F("last_reviewed_by_id"), **columns(""))
    )
    return owners.union(assigned, last, all=True).order_by("recipient", "a_id")


def _update_flags(rows: QuerySet[Article], wanted: dict[str, Q], *, at) -> int:
    """One UPDATE setting each flag column to whether its condition holds, on the rows
    where any flag changes; bumps ``version``. Returns the number of rows changed."""
    changes = Q()
    for column, condition in wanted.items():
        changes |= Q(condition, **{column: False}) | Q(~condition, **{column: True})
    changed = rows.filter(changes).update(
        **{
            column: Case(When(condition, then=Value(True)), default=Value(False))
            for column, condition in wanted.items()
        },
        version=F("version") + 1,
        updated_at=at,
    )
    if changed:  # a set-based UPDATE sends no model signal
        page_cache.pages_changed()
    return changed


def _link(article_id: int) -> str:
    return notifications.review_link(article_id)


# --- the stale-review sweep ----------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    """What one sweep changed: counts per audit action, sample slugs, mails queued."""

    at: datetime
    changes: dict[str, int]
    slugs: dict[str, list[str]]
    articles: int = 0
    notifications: int = 0

    @property
    def changed(self) -> bool:
        """Whether the sweep changed any article."""
        return self.articles > 0

    def as_dict(self) -> dict:
        """JSON-friendly summary (the Celery task's result)."""
        return {
            "at": self.at.isoformat(),
            "articles": self.articles,
            "changes": self.changes,
            "notifications": self.notifications,
        }


def _sweep_conditions(now: datetime) -> tuple[Q, Q]:
    soon = now + timedelta(days=settings.REVIEWSITE_DUE_SOON_DAYS)
    # Served to readers: a live revision and not archived. An approved article whose
    # working copy is being edited again (status draft) still serves its live revision,
    # and that page still needs its review.
    live = live_q() & Q(next_review_due__isnull=False)
    overdue = live & Q(next_review_due__lte=now)
    due_soon = live & Q(next_review_due__gt=now, next_review_due__lte=soon)
    return overdue, due_soon


def review_flags(article: Article, *, now: datetime) -> tuple[bool, bool]:
    """(overdue, due soon) for one article in memory: ``_sweep_conditions`` in Python,
    for a service that moves the due date (a changed review interval)."""
    due = article.next_review_due
    if not article.is_live or due is None:
        return False, False
    soon = now + timedelta(days=settings.REVIEWSITE_DUE_SOON_DAYS)
    return due <= now, now < due <= soon


def notify_credentials_expiring(*, now: datetime) -> int:
    """The daily digest's line for managing editors: verified reviewer credentials that
    expire within 30 days. Once a day per managing editor (the dedupe key holds the day).
    """
    from reviewsite.roles import MANAGING_EDITORS

    from .selectors import CREDENTIALS_EXPIRING_DAYS, credentials_expiring

    expiring = credentials_expiring(today=timezone.localdate(now))
    if not expiring:
        return 0
    lines = [
        f"- {p.byline} ({p.registration_body} {p.registration_number}): expires "
        f"{p.credentials_expire_on.isoformat()}"
        for p in expiring
    ]
    managing = get_user_model().objects.filter(groups__name=MANAGING_EDITORS).distinct()
    return len(
        notifications.queue(
            recipients=managing,
            subject=f"Reviewer credentials expiring within {CREDENTIALS_EXPIRING_DAYS} days",
            body="These reviewers may not approve or re-certify once their credentials "
            "expire; verify renewed ones in the workspace (Reviewers):\n\n" + "\n".join(lines),
            dedupe_key=f"credentials-expiring:{timezone.localdate(now).isoformat()}",
        )
    )


@transaction.atomic
def flag_stale_articles(*, now: datetime | None = None, report: bool = True) -> SweepResult:
    """Flag live articles overdue or due soon for review, clear stale flags, mail digests."""
    _lock("flag_stale")
    now = now or timezone.now()
    # Both paths tell managing editors about credentials running out (once a day).
    notify_credentials_expiring(now=now)
    if connection.vendor == "postgresql":
        return _flag_stale_in_one_statement(now, report=report)
    overdue, due_soon = _sweep_conditions(now)
    articles = Article.objects.order_by()
    days = settings.REVIEWSITE_DUE_SOON_DAYS
    changes = {
        f"flag:{OVERDUE}": (
            articles.filter(overdue, flag_review_overdue=False),
            "The next review date has passed.",
        ),
        f"unflag:{OVERDUE}": (
            articles.filter(~overdue, flag_review_overdue=True),
            "No longer overdue for review.",
        ),
        f"flag:{DUE_SOON}": (
            articles.filter(due_soon, flag_review_due_soon=False),
            f"Due for review within {days} days.",
        ),
        f"unflag:{DUE_SOON}": (
            articles.filter(~due_soon, flag_review_due_soon=True),
            f"No longer due for review within {days} days.",
        ),
    }
    counts, slugs = _apply_changes(changes, at=now, report=report)
    if not any(counts.values()):
        return SweepResult(at=now, changes=counts, slugs=slugs)
    newly = changes[f"flag:{OVERDUE}"][0] | changes[f"flag:{DUE_SOON}"][0]
    # Read who to tell before the UPDATE: afterwards "newly flagged" no longer matches.
    flagged = counts[f"flag:{OVERDUE}"] + counts[f"flag:{DUE_SOON}"]
    digests = _collect_digests(newly, now) if flagged else {}
    updated = _update_flags(
        articles, {"flag_review_overdue": overdue, "flag_review_due_soon": due_soon}, at=now
    )
    sent = _queue_digests(digests, now)
    return SweepResult(at=now, changes=counts, slugs=slugs, articles=updated, notifications=sent)


def _sweep_comments() -> dict[str, str]:
    days = settings.REVIEWSITE_DUE_SOON_DAYS
    return {
        f"flag:{OVERDUE}": "The next review date has passed.",
        f"unflag:{OVERDUE}": "No longer overdue for review.",
        f"flag:{DUE_SOON}": f"Due for review within {days} days.",
        f"unflag:{DUE_SOON}": f"No longer due for review within {days} days.",
    }


def _flag_stale_in_one_statement(now: datetime, *, report: bool) -> SweepResult:
    """PostgreSQL: the whole sweep as one statement, one pass over the articles.

    ``updated`` is the ``UPDATE … WHERE <a flag changes> RETURNING`` of those rows (the
    only scan of the table), which also returns each row's old flags, read by primary
    key in the statement's snapshot; ``audit`` is one ``INSERT … SELECT`` of the
    returned rows, a scan per flag;
    the final SELECT returns the audit counts, up to REPORT_LIMIT slugs per kind when
    ``report``, and the digest rows aggregated per recipient and kind (as
    ``_collect_digests`` does), read from the returned rows, not from a second pass,
    with the listed rows' titles looked up by primary key.
    """
    overdue, due_soon = _sweep_conditions(now)
    flip = (
        Q(overdue, flag_review_overdue=False)
        | Q(~overdue, flag_review_overdue=True)
        | Q(due_soon, flag_review_due_soon=False)
        | Q(~due_soon, flag_review_due_soon=True)
    )
    # The conditions compiled without a table name: in the UPDATE they read the row
    # being updated (as a CheckConstraint compiles its condition).
    query = Query(model=Article, alias_cols=False)
    compiler = query.get_compiler(connection=connection)

    def sql_of(condition: Q) -> tuple[str, list]:
        where_sql, where_params = query.build_where(condition).as_sql(compiler, connection)
        return where_sql, list(where_params)

    flip_sql, flip_params = sql_of(flip)
    over_sql, over_params = sql_of(overdue)
    soon_sql, soon_params = sql_of(due_soon)
    comments = _sweep_comments()
    # Per flag: the actions and comments for (set, cleared), chosen by a CASE.
    kind_params = [
        value
        for flag in (OVERDUE, DUE_SOON)
        for value in (
            f"flag:{flag}",
            f"unflag:{flag}",
            comments[f"flag:{flag}"],
            comments[f"unflag:{flag}"],
        )
    ]
    article = connection.ops.quote_name(Article._meta.db_table)
    audit = connection.ops.quote_name(AuditEvent._meta.db_table)
    revision = connection.ops.quote_name(
        Article._meta.get_field("live_revision").related_model._meta.db_table
    )
    assignment = connection.ops.quote_name(ReviewAssignment._meta.db_table)
    actor_type = AuditEvent._meta.get_field("actor").db_type(connection)
    window = "PARTITION BY recipient, is_over"
    sql = f"""
        WITH updated AS (
            -- One scan, as the raw UPDATE. The sub-SELECT in RETURNING reads the row as
            -- the statement's snapshot sees it, before this UPDATE: the old flags (two
            -- bits), with no second scan of the table to join.
            UPDATE {article} AS t
            SET flag_review_overdue = CASE WHEN {over_sql} THEN true ELSE false END,
                flag_review_due_soon = CASE WHEN {soon_sql} THEN true ELSE false END,
                version = t.version + 1, updated_at = %s
            WHERE {flip_sql}
            RETURNING t.id, t.slug, t.status, t.live_revision_id, t.owner_id,
                t.last_reviewed_by_id, t.next_review_due,
                t.flag_review_overdue AS new_over, t.flag_review_due_soon AS new_soon,
                (SELECT CASE WHEN o.flag_review_overdue THEN 2 ELSE 0 END
                    + CASE WHEN o.flag_review_due_soon THEN 1 ELSE 0 END
                 FROM {article} AS o WHERE o.id = t.id) AS was
        ),
        changed AS (
            SELECT u.*, (u.was & 2) <> 0 AS was_over, (u.was & 1) <> 0 AS was_soon
            FROM updated AS u
        ),
        audit AS (
            -- One scan of the changed rows per flag; the CASE picks set or cleared.
            INSERT INTO {audit} (article_id, revision_id, actor_id, action, from_status,
                to_status, comment, refused, reason, at)
            SELECT c.id, c.live_revision_id, NULL::{actor_type},
                CASE WHEN c.new_over THEN %s ELSE %s END, c.status, c.status,
                CASE WHEN c.new_over THEN %s ELSE %s END, false, '', %s
            FROM changed AS c WHERE c.was_over <> c.new_over
            UNION ALL
            SELECT c.id, c.live_revision_id, NULL::{actor_type},
                CASE WHEN c.new_soon THEN %s ELSE %s END, c.status, c.status,
                CASE WHEN c.new_soon THEN %s ELSE %s END, false, '', %s
            FROM changed AS c WHERE c.was_soon <> c.new_soon
            RETURNING article_id, action
        ),
        newly AS (
            SELECT c.id, c.owner_id, c.last_reviewed_by_id, c.next_review_due,
                c.next_review_due <= %s AS is_over
            FROM changed AS c
            WHERE (c.new_over AND NOT c.was_over) OR (c.new_soon AND NOT c.was_soon)
        ),
        recipients AS (
            -- Each (recipient, article) once without a DISTINCT: a reviewer who owns
            -- the article is told as its owner (assignments are unique per reviewer).
            SELECT owner_id AS recipient, id AS a_id, next_review_due AS a_due, is_over
            FROM newly
            UNION ALL
            SELECT ra.reviewer_id, n.id, n.next_review_due, n.is_over
            FROM newly AS n JOIN {assignment} AS ra ON ra.article_id = n.id
            WHERE ra.reviewer_id <> n.owner_id
            UNION ALL
            SELECT n.last_reviewed_by_id, n.id, n.next_review_due, n.is_over
            FROM newly AS n
            WHERE n.last_reviewed_by_id <> n.owner_id AND NOT EXISTS (
                SELECT 1 FROM {assignment} AS ra2 WHERE ra2.article_id = n.id
            )
        ),
        digests AS (
            SELECT recipient, a_id, a_due, is_over, n, id_sum, first_due, last_due
            FROM (
                SELECT d.*,
                    ROW_NUMBER() OVER ({window} ORDER BY a_id) AS rn,
                    COUNT(*) OVER ({window}) AS n,
                    SUM(a_id) OVER ({window}) AS id_sum,
                    MIN(a_due) OVER ({window}) AS first_due,
                    MAX(a_due) OVER ({window}) AS last_due
                FROM recipients AS d
            ) AS w
            WHERE rn <= %s
        )
        SELECT 'count', action, COUNT(*), NULL::bigint, NULL::text, NULL::timestamptz,
            NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::timestamptz
            FROM audit GROUP BY action
        UNION ALL
        SELECT 'articles', NULL, COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL
            FROM changed
        UNION ALL
        SELECT 'slug', action, NULL, NULL, slug, NULL, NULL, NULL, NULL, NULL FROM (
            SELECT a.action, c.slug,
                ROW_NUMBER() OVER (PARTITION BY a.action ORDER BY c.id) AS rn
            FROM audit AS a JOIN changed AS c ON c.id = a.article_id
            WHERE %s
        ) AS s WHERE rn <= %s
        UNION ALL
        -- The title by primary key for the listed rows only (a join here had the
        -- planner hash the whole article table for a few hundred rows).
        SELECT 'digest', CASE WHEN d.is_over THEN %s ELSE %s END, d.n, d.recipient,
            (SELECT COALESCE(v.title, a.slug) FROM {article} AS a
             LEFT JOIN {revision} AS v ON v.id = a.live_revision_id WHERE a.id = d.a_id),
            d.a_due, d.a_id, d.id_sum, d.first_due, d.last_due
            FROM digests AS d
    """  # noqa: S608 - the inner SQL is compiled by the ORM; values are parameters
    params = [
        *over_params,
        *soon_params,
        now,  # updated_at
        *flip_params,
        *kind_params[0:4],
        now,  # the overdue events' time
        *kind_params[4:8],
        now,  # the due-soon events' time
        now,  # overdue or due soon, for the digests
        DIGEST_LIST_LIMIT,
        report,
        REPORT_LIMIT,
        OVERDUE,
        DUE_SOON,
    ]
    with connection.cursor() as cursor:
        # For this transaction only: the digests sort every newly flagged article per
        # recipient in memory, not in temporary files at the default 4 MB; and no JIT.
        # The statement's cost estimate is far above jit_optimize_above_cost, so
        # PostgreSQL compiled it with LLVM first: 0.8 s of a 10 s sweep at 1M articles,
        # and most of the daily sweep, for work that is index writes, not expressions.
        cursor.execute(
            "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
            [SWEEP_WORK_MEM],
        )
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    counts = dict.fromkeys(comments, 0)
    slugs: dict[str, list[str]] = {action: [] for action in comments}
    digests: dict[int, _Digest] = {}
    updated = 0
    digest_rows = []
    for tag, action, count, recipient, text, due, article_id, id_sum, first, last in rows:
        if tag == "count":
            counts[action] = count
        elif tag == "articles":
            updated = count
        elif tag == "slug":
            slugs[action].append(text)
        else:
            digest_rows.append(
                (recipient, action, article_id, text, due, count, id_sum, first, last)
            )
    # The order _collect_digests gives: by recipient, kind, article.
    for recipient, kind, article_id, title, due, count, id_sum, first, last in sorted(
        digest_rows, key=lambda r: (r[0], r[1], r[2])
    ):
        digest = digests.setdefault(recipient, _Digest())
        if not digest.counts[kind]:
            digest.counts[kind] = count
            digest.fingerprint.update(f"{kind}:{count}:{id_sum}:{first}:{last};".encode())
        digest.lines[kind].append(f"- {title} (due {due:%Y-%m-%d}): {_link(article_id)}")
    if updated:
        page_cache.pages_changed()
    if not report:
        slugs = {action: [] for action in comments}
    sent = _queue_digests(digests, now) if digests else 0
    return SweepResult(at=now, changes=counts, slugs=slugs, articles=updated, notifications=sent)


@dataclass
class _Digest:
    """One recipient's newly flagged articles: counts, the first lines, a fingerprint."""

    counts: dict[str, int] = field(default_factory=lambda: {OVERDUE: 0, DUE_SOON: 0})
    lines: dict[str, list[str]] = field(default_factory=lambda: {OVERDUE: [], DUE_SOON: []})
    fingerprint: Any = field(default_factory=hashlib.sha256)


def _collect_digests(newly: QuerySet[Article], now: datetime) -> dict[int, _Digest]:
    """One digest per recipient, aggregated by the database.

    Window functions give, per recipient and kind, the count, the first
    DIGEST_LIST_LIMIT articles and a fingerprint of the whole set (count, sum of ids,
    earliest and latest due date), so only the listed rows cross the wire however many
    articles changed. The due dates are in the fingerprint: after a recertification
    the same article falling due again is a new change and deserves a new mail.
    """

    def columns(prefix: str) -> dict:
        return {
            "a_id": F(f"{prefix}id"),
            "a_slug": F(f"{prefix}slug"),
            "a_title": Coalesce(
                F(f"{prefix}live_revision__title"), F(f"{prefix}slug"), output_field=CharField()
            ),
            "a_due": F(f"{prefix}next_review_due"),
            "a_kind": Case(
                When(**{f"{prefix}next_review_due__lte": now}, then=Value(OVERDUE)),
                default=Value(DUE_SOON),
                output_field=CharField(),
            ),
        }

    union = _recipient_rows(newly, columns).order_by()
    union_sql, params = union.query.sql_with_params()
    window = "PARTITION BY recipient, a_kind"
    # DISTINCT: an owner who is also a reviewer gets each article once.
    sql = f"""
        SELECT recipient, a_id, a_title, a_due, a_kind, n, id_sum, first_due, last_due
        FROM (
            SELECT d.*,
                ROW_NUMBER() OVER ({window} ORDER BY a_id) AS rn,
                COUNT(*) OVER ({window}) AS n,
                SUM(a_id) OVER ({window}) AS id_sum,
                MIN(a_due) OVER ({window}) AS first_due,
                MAX(a_due) OVER ({window}) AS last_due
            FROM (SELECT DISTINCT * FROM ({union_sql}) AS u) AS d
        ) AS w
        WHERE rn <= %s
        ORDER BY recipient, a_kind, a_id
    """  # noqa: S608 - the inner SQL is compiled by the ORM; values are parameters
    digests: dict[int, _Digest] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, DIGEST_LIST_LIMIT])
        rows = cursor.fetchall()
    for recipient, article_id, title, due, kind, count, id_sum, first_due, last_due in rows:
        digest = digests.setdefault(recipient, _Digest())
        if not digest.counts[kind]:
            digest.counts[kind] = count
            digest.fingerprint.update(f"{kind}:{count}:{id_sum}:{first_due}:{last_due};".encode())
        due = _as_datetime(due)
        digest.lines[kind].append(f"- {title} (due {due:%Y-%m-%d}): {_link(article_id)}")
    return digests


def _as_datetime(value) -> datetime:
    # Raw cursors skip the ORM's converters: SQLite hands back the stored text.
    return value if isinstance(value, datetime) else parse_datetime(str(value))


def _queue_digests(digests: dict[int, _Digest], now: datetime) -> int:
    users = get_user_model().objects.in_bulk(list(digests))
    headings = {
        OVERDUE: "Overdue for review",
        DUE_SOON: f"Due for review within {settings.REVIEWSITE_DUE_SOON_DAYS} days",
    }
    queued = 0
    for recipient, digest in digests.items():
        parts, summary = [], []
        for kind in (OVERDUE, DUE_SOON):
            count = digest.counts[kind]
            if not count:
                continue
            summary.append(f"{count} {'overdue' if kind == OVERDUE else 'due soon'}")
            more = count - len(digest.lines[kind])
            tail = [f"… and {more} more."] if more else []
            parts.append("\n".join([f"{headings[kind]} ({count}):", *digest.lines[kind], *tail]))
        body = (
            f"Review status as of {now:%Y-%m-%d}: these articles you own or review "
            "need a medical review.\n\n" + "\n\n".join(parts) + "\n"
        )
        queued += len(
            mail.queue(
                recipients=[users.get(recipient)],
                subject=f"Review digest: {', '.join(summary)}",
                body=body,
                dedupe_key=f"review-digest:{digest.fingerprint.hexdigest()[:40]}",
            )
        )
    return queued


# --- retraction propagation ----------------------------------------------------------------


@dataclass(frozen=True)
class PropagationResult:
    """What one propagation run (or chunk) changed for the articles citing the source.

    ``last_id`` is the last article id the chunk covered (the next chunk starts after
    it); ``done`` is whether this was the last chunk (and the digests were queued).
    """

    source_id: int
    status: str
    articles: int = 0
    changes: dict[str, int] = field(default_factory=dict)
    slugs: dict[str, list[str]] = field(default_factory=dict)
    notifications: int = 0
    last_id: int | None = None
    done: bool = True

    def as_dict(self) -> dict:
        """JSON-friendly summary (the Celery task's result)."""
        return {
            "source_id": self.source_id,
            "status": self.status,
            "articles": self.articles,
            "changes": self.changes,
            "notifications": self.notifications,
            "last_id": self.last_id,
            "done": self.done,
        }


def queue_propagation(*, source_id: int) -> outbox.OutboxMessage:
    """Record a propagation of the source's status as an outbox row (in the caller's
    transaction); a worker runs it in chunks after commit."""
    return outbox.record(
        outbox.Kind.PROPAGATE,
        f"propagate:s{source_id}:{uuid.uuid4().hex}",
        {"source": source_id, "after": 0},
    )


def propagate_step(payload: dict) -> tuple[dict, bool]:
    """The outbox handler of a propagation row: one chunk after the row's cursor."""
    result = propagate_source_status(
        source_id=payload["source"],
        after=payload.get("after") or 0,
        limit=settings.REVIEWSITE_PROPAGATION_CHUNK,
    )
    return {**payload, "after": result.last_id}, result.done


@transaction.atomic
def propagate_source_status(
    *, source_id: int, after: int = 0, limit: int | None = None
) -> PropagationResult:
    """Recompute citation flags of the live articles citing the source; notify once.

    With ``limit``, only the next ``limit`` citing articles with an id above ``after``
    (one chunk); the digests go out with the last chunk. Without, all of them at once.
    """
    _lock("propagate", source_id)
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return PropagationResult(source_id=source_id, status="")
    now = timezone.now()
    # Same rules as services.live_citation_flags, as SQL: only the live revision's
    # citations count, and a citation kept on purpose (with a reason) never flags.
    counted = RevisionCitation.objects.relied_on().filter(revision=OuterRef("live_revision"))
    wants_retracted = Exists(
        RevisionCitation.objects.relying_on_refused().filter(revision=OuterRef("live_revision"))
    )
    wants_concern = Exists(
        RevisionCitation.objects.relying_on_concern().filter(revision=OuterRef("live_revision"))
    )
    wants_corrected = Exists(counted.filter(source__status=Source.Status.CORRECTED))
    all_citing = (
        Article.objects.live()
        .order_by()
        .filter(
            Exists(
                RevisionCitation.objects.filter(
                    revision=OuterRef("live_revision"), source_id=source_id
                )
            )
        )
    )
    citing, last_id = all_citing.filter(pk__gt=after), None
    if limit is not None:
        bound = list(citing.order_by("pk").values_list("pk", flat=True)[limit - 1 : limit])
        if bound:
            last_id = bound[0]
            citing = citing.filter(pk__lte=last_id)
    why = f"Cited source {source.key} is now {source.get_status_display().lower()}."
    changes = {
        f"flag:{RETRACTED}": (citing.filter(wants_retracted, flag_citation_retracted=False), why),
        f"unflag:{RETRACTED}": (citing.filter(~wants_retracted, flag_citation_retracted=True), why),
        f"flag:{CONCERN}": (citing.filter(wants_concern, flag_citation_concern=False), why),
        f"unflag:{CONCERN}": (citing.filter(~wants_concern, flag_citation_concern=True), why),
        f"flag:{CORRECTED}": (citing.filter(wants_corrected, flag_citation_corrected=False), why),
        f"unflag:{CORRECTED}": (
            citing.filter(~wants_corrected, flag_citation_corrected=True),
            why,
        ),
    }
    counts, slugs = _apply_changes(changes, at=now, report=True)
    updated = 0
    if any(counts.values()):
        updated = _update_flags(
            citing,
            {
                "flag_citation_retracted": wants_retracted,
                "flag_citation_concern": wants_concern,
                "flag_citation_corrected": wants_corrected,
            },
            at=now,
        )
    done, sent = last_id is None, 0
    if done and source.status in Source.FLAGGING_STATUSES:
        sent = _notify_citing(
            source, all_citing.filter(Exists(counted.filter(source_id=source_id)))
        )
    return PropagationResult(
        source_id=source_id,
        status=source.status,
        articles=updated,
        changes=counts,
        slugs=slugs,
        notifications=sent,
        last_id=last_id,
        done=done,
    )


def _notify_citing(source: Source, articles: QuerySet[Article]) -> int:
    """One digest per recipient (owner or reviewer) of the flagged articles citing it.

    Like the sweep, the database counts and picks the first DIGEST_LIST_LIMIT articles
    per recipient, so only the listed rows cross the wire. The key names this status
    change of this source, so a re-run or a later chunk never mails again.
    """

    def columns(prefix: str) -> dict:
        return {
            "a_id": F(f"{prefix}id"),
            "a_title": Coalesce(
                F(f"{prefix}live_revision__title"), F(f"{prefix}slug"), output_field=CharField()
            ),
        }

    union_sql, params = _recipient_rows(articles, columns).order_by().query.sql_with_params()
    sql = f"""
        SELECT recipient, a_id, a_title, n FROM (
            SELECT d.*,
                ROW_NUMBER() OVER (PARTITION BY recipient ORDER BY a_id) AS rn,
                COUNT(*) OVER (PARTITION BY recipient) AS n
            FROM (SELECT DISTINCT * FROM ({union_sql}) AS u) AS d
        ) AS w
        WHERE rn <= %s
        ORDER BY recipient, a_id
    """  # noqa: S608 - the inner SQL is compiled by the ORM; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, DIGEST_LIST_LIMIT])
        rows = cursor.fetchall()
    claims = _claims_citing(source, {article_id for _r, article_id, _t, _n in rows})
    digests: dict[int, tuple[int, list[str]]] = {}
    for recipient, article_id, title, count in rows:
        digests.setdefault(recipient, (count, []))[1].append(
            f"- {title}: {_link(article_id)}" + claims.get(article_id, "")
        )
    users = get_user_model().objects.in_bulk(list(digests))
    changed_at = int(source.status_changed_at.timestamp()) if source.status_changed_at else 0
    status = source.get_status_display().lower()
    notice = f"Notice: {source.notice_reason}\n\n" if source.notice_reason else ""
    queued = 0
    for recipient, (count, lines) in digests.items():
        more = count - len(lines)
        tail = [f"… and {more} more."] if more else []
        plural = "s" if count != 1 else ""
        queued += len(
            mail.queue(
                recipients=[users.get(recipient)],
                subject=f"Cited source {status}: {source.key} ({count} article{plural})",
                body=f"{source.key} ({source.title}) is now {status}.\n{notice}"
                f"{count} article{plural} you own or review cite it; they are flagged "
                "and in the review queue. Re-check the claims listed under each:\n"
                + "\n".join([*lines, *tail])
                + "\n",
                dedupe_key=f"source-status:s{source.pk}:{source.status}:{changed_at}",
            )
        )
    return queued


def _claims_citing(source: Source, article_ids: set[int]) -> dict[int, str]:
    """Per article, the live sentences citing ``source``, as lines of a mail (3 queries)."""
    live = dict(Article.objects.filter(pk__in=article_ids).values_list("live_revision_id", "pk"))
    texts = {}
    for revision_id, claims in claims_by_revision(live).items():
        lines = [
            f"· {c['section'] + ': ' if c['section'] else ''}“{c['sentence']}” "
            f"(line {c['line']}, column {c['column']})"
            for c in claims
            if c["source"] == source.pk
        ]
        if lines:
            texts[live[revision_id]] = "".join(f"\n  {line}" for line in lines)
    return texts
