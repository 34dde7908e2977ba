"""One role check (superusers hold every role) and one table from domain errors to HTTP."""

import subprocess
import sys

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import URLPattern, reverse

from articles import urls as article_urls
from articles.services import figure_upload
from citations.models import ImportJob
from reviewsite import errors
from reviewsite.http_errors import status_for
from reviewsite.roles import is_editor, is_managing_editor, is_reviewer, is_staff_member
from tests import factories
from tests.helpers import (
    approval_form_data,
    approval_kwargs,
    client_for,
    image_bytes,
    make_article,
    upload,
)
from workflows import urls as workspace_urls
from workflows.models import Notification

#: Reader-site pages that only editorial staff may open.
STAFF_READER_PAGES = {"preview", "editorial-policy-edit"}
#: Workspace routes that accept only POST (workflows.urls.POST_ONLY), with a form a
#: superuser may send.
POST_FORMS = {
    "article-action": {"comment": "Checked.", "confirm": "on"},
    "source-import": {},
    "source-status": {"status": "corrected", "reason": "Erratum published."},
    "source-check": {},
    "article-assign": {},
    "figure-replace": {},
    "notification-read": {"read": "1"},
    "source-lookup": {},
}


@pytest.fixture
def superuser(db):
    return factories.UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.mark.django_db
def test_a_superuser_holds_every_role(superuser):
    assert is_editor(superuser)
    assert is_reviewer(superuser)
    assert is_managing_editor(superuser)
    assert is_staff_member(superuser)
    assert not is_editor(None)


@pytest.mark.django_db
def test_a_superuser_opens_every_workspace_and_staff_reader_page(client, superuser):
    editor = factories.editor(username="author")
    reviewer = factories.reviewer(username="checker")
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    source = factories.SourceFactory(key="trapp1998")
    job = ImportJob.objects.create(created_by=superuser, filename="library.bib")
    # Which object each kind of route is given, most specific prefix first.
    figure = figure_upload(actor=editor, file=upload(image_bytes()), alt_text="A scan")
    notification = Notification.objects.create(
        dedupe_key="root-1", recipient=superuser, subject="Review overdue", body="."
    )
    objects = [
        ("notifications/", notification.pk),
        ("sources/imports/", job.pk),
        ("sources/", source.pk),
        ("figures/", figure.pk),
        ("reviewers/", reviewer.pk),
        ("", article.pk),
    ]
    client.force_login(superuser)
    routes = [
        (p.name, "workflows") for p in workspace_urls.urlpatterns if isinstance(p, URLPattern)
    ] + [(name, "articles") for name in sorted(STAFF_READER_PAGES)]
    assert len(routes) >= 12
    assert set(POST_FORMS) == workspace_urls.POST_ONLY
    for name, namespace in routes:
        kwargs = {}
        pattern = str(next(p.pattern for p in _patterns(namespace) if p.name == name))
        if "<int:pk>" in pattern:
            kwargs["pk"] = next(pk for prefix, pk in objects if pattern.startswith(prefix))
        if "<slug:action>" in pattern:
            kwargs["action"] = "archive"
        url = reverse(f"{namespace}:{name}", kwargs=kwargs)
        if namespace == "workflows" and name in workspace_urls.POST_ONLY:
            assert client.get(url).status_code == 405, url  # POST-only means it
            response = client.post(url, POST_FORMS[name])
            assert response.status_code in (200, 302, 400), (url, response.status_code)
        else:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
    article.refresh_from_db()
    assert article.status == "archived"  # the superuser's archive went through


def _patterns(namespace):
    return workspace_urls.urlpatterns if namespace == "workflows" else article_urls.urlpatterns


def test_the_errors_module_imports_no_http_framework():
    code = (
        "import sys, reviewsite.errors; "
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] == 'rest_framework' or m.startswith('django.http')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput("bad"), 400),
        (ValidationError({"title": ["blank"]}), 400),
        (errors.ActionForbidden("no"), 403),
        (PermissionDenied("no"), 403),
        (errors.NotFound("none"), 404),
        (errors.TransitionNotAllowed("later"), 409),
        (errors.PreconditionFailed("stale"), 412),
        (errors.Unavailable("down"), 503),
        (RuntimeError("bug"), None),
    ],
)
def test_one_table_maps_each_kind_of_refusal_to_its_status(error, status):
    assert status_for(error) == status


@pytest.mark.django_db
def test_the_api_and_the_workspace_answer_a_four_eyes_refusal_alike(client):
    author = factories.reviewer(username="writer")
    author.groups.add(*factories.editor(username="helper").groups.all())
    starter = factories.reviewer(username="starter")
    article = make_article(editor=author, reviewer=starter, state="under_review")
    api = client_for(author).post(
        f"/api/v1/articles/{article.pk}/approve/", approval_kwargs(), format="json"
    )
    client.force_login(author)
    page = client.post(
        reverse("workflows:article-action", args=[article.pk, "approve"]), approval_form_data()
    )
    assert api.status_code == page.status_code == 403
    assert "nobody may approve their own work" in api.json()["detail"]
    assert "nobody may approve their own work" in page.content.decode()
