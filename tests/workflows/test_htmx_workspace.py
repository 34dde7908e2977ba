"""htmx partial updates in the workspace, and the same URLs without script.

Each endpoint is called with ``HX-Request: true`` (htmx: the fragment it redraws) and
without it (the full page, or a redirect back to one), with its permission refusals and
its query count pinned.
"""

import pytest
from django.urls import reverse

from articles.models import Article
from citations.models import Source
from workflows.models import Notification

from .. import factories
from ..helpers import make_article

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def _templates(response) -> list[str]:
    return [t.name for t in response.templates if t.name]


def _form(article: Article | None = None, **changes) -> dict:
    data = {"title": "Relapsing MS", "summary": "", "body": "Text.", "audience": "general"}
    if article is not None:
        data["etag"] = article.etag
    return {**data, **changes}


# --- the editor's preview -------------------------------------------------------------------


@pytest.fixture
def cited(db):
    factories.SourceFactory(key="trapp1998", title="Axonal transection in MS lesions")
    factories.SourceFactory(
        key="wakefield1998",
        title="Ileal-lymphoid-nodular hyperplasia",
        status=Source.Status.RETRACTED,
        notice_reason="Retracted by the journal.",
    )


BODY = "## Course\n\nLesions [@trapp1998].\n\nAutism [@wakefield1998]. Again [@trapp1998].\n"


def test_htmx_preview_answers_the_pane_alone_with_numbered_references_and_the_warning(
    logged_in, editor, cited, django_assert_max_num_queries
):
    article = make_article(editor=editor, body="Saved text.")
    client = logged_in(editor)
    url = reverse("workflows:article-edit", args=[article.pk])
    with django_assert_max_num_queries(8):
        response = client.post(url, _form(article, body=BODY, preview="1"), **HX)
    assert response.status_code == 200
    assert _templates(response)[0] == "workflows/_preview.html"
    assert "workflows/article_form.html" not in _templates(response)
    page = response.content.decode()
    assert "<html" not in page and "workspace-nav" not in page
    assert '<h2 id="preview-heading"' in page
    # Numbered in order of first citation, one reference each, as on the reader page.
    assert page.count('<li id="ref-') == 2
    assert 'id="ref-1"' in page and "Axonal transection" in page.split('id="ref-2"')[0]
    assert "wakefield1998</code> — Retracted: Retracted by the journal." in page
    assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]
    article.refresh_from_db()
    assert article.latest_revision.body == "Saved text."  # a preview stores nothing


def test_preview_without_htmx_is_the_whole_editor_with_the_pane_filled(logged_in, editor, cited):
    article = make_article(editor=editor)
    response = logged_in(editor).post(
        reverse("workflows:article-edit", args=[article.pk]), _form(article, body=BODY, preview="1")
    )
    assert response.status_code == 200
    assert "workflows/article_form.html" in _templates(response)
    page = response.content.decode()
    assert 'id="preview-pane"' in page and '<h2 id="preview-heading"' in page
    assert BODY.split("\n")[2] in page  # the textarea keeps the typed text
    assert "wakefield1998</code> — Retracted" in page


def test_htmx_preview_of_a_new_article_and_its_unresolved_marker_links_to_the_line(
    logged_in, editor, cited
):
    response = logged_in(editor).post(
        reverse("workflows:article-create"),
        _form(body="Intro.\n\nClaim [@nosuchkey].", preview="1"),
        **HX,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert '<a href="#id_body" data-line="3">line 3</a>' in page
    assert not Article.objects.exists()


def test_htmx_preview_of_an_invalid_form_says_which_field_with_a_link(logged_in, editor):
    response = logged_in(editor).post(
        reverse("workflows:article-create"), _form(title="", preview="1"), **HX
    )
    assert response.status_code == 400
    assert _templates(response)[0] == "workflows/_preview.html"
    page = response.content.decode()
    assert '<a href="#id_title">Title: This field is required.</a>' in page


def test_htmx_preview_of_an_article_no_longer_editable_is_refused_in_the_pane(
    logged_in, editor, reviewer
):
    article = make_article(editor=editor, reviewer=reviewer, state="submitted")
    url = reverse("workflows:article-edit", args=[article.pk])
    response = logged_in(editor).post(url, _form(article, preview="1"), **HX)
    assert response.status_code == 409
    assert _templates(response) == ["workflows/_htmx_refusal.html"]
    assert "cannot be edited or previewed here now" in response.content.decode()
    # Without htmx: the full page that explains the lock, as before.
    plain = logged_in(editor).post(url, _form(article, preview="1"))
    assert plain.status_code == 409
    assert "workflows/article_locked.html" in _templates(plain)


def test_preview_is_for_the_workspace_only(client, reader, editor):
    article = make_article(editor=editor)
    url = reverse("workflows:article-edit", args=[article.pk])
    anonymous = client.post(url, _form(article, preview="1"), **HX)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(reader)
    assert client.post(url, _form(article, preview="1"), **HX).status_code == 403


def test_editor_page_loads_htmx_and_the_gutter_from_files_with_no_inline_script(logged_in, editor):
    article = make_article(editor=editor)
    response = logged_in(editor).get(reverse("workflows:article-edit", args=[article.pk]))
    page = response.content.decode()
    for asset in ("vendor/htmx.min.js", "htmx-workspace.js", "editor-gutter.js", "editor.css"):
        assert asset in page, asset
    assert "<script>" not in page and " style=" not in page and "hx-on" not in page
    assert f'hx-post="/workspace/articles/{article.pk}/edit/"' in page
    assert '"includeIndicatorStyles": false' in page and '"allowEval": false' in page
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy


# --- the pickers ----------------------------------------------------------------------------


def test_source_picker_search_answers_the_matching_items_for_htmx(
    logged_in, editor, django_assert_max_num_queries
):
    factories.SourceFactory(key="trapp1998", title="Axonal transection")
    factories.SourceFactory(key="other2001", title="Unrelated cohort")
    client = logged_in(editor)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("workflows:source-picker"), {"q": "axonal"}, **HX)
    assert response.status_code == 200
    assert _templates(response) == ["workflows/_source_picker_items.html"]
    page = response.content.decode()
    assert 'data-marker="[@trapp1998]"' in page and "other2001" not in page
    assert "<html" not in page


def test_source_picker_without_htmx_is_a_page_to_copy_markers_from(logged_in, reviewer):
    factories.SourceFactory(key="trapp1998", title="Axonal transection")
    response = logged_in(reviewer).get(reverse("workflows:source-picker"), {"q": "trapp"})
    assert response.status_code == 200
    assert "workflows/source_picker.html" in _templates(response)
    page = response.content.decode()
    assert "<h1>Find a source to cite</h1>" in page and "<code>[@trapp1998]</code>" in page


def test_source_picker_says_when_nothing_matches_and_refuses_a_bad_search(logged_in, editor):
    client = logged_in(editor)
    empty = client.get(reverse("workflows:source-picker"), {"q": "zzz"}, **HX)
    assert "No source matches “zzz”." in empty.content.decode()
    bad = client.get(reverse("workflows:source-picker"), {"q": "x" * 201})
    assert bad.status_code == 400
    assert "Search: Ensure this value has at most 200 characters" in bad.content.decode()


def test_source_picker_caps_its_results_and_says_so(logged_in, editor):
    factories.SourceFactory.create_batch(52, title="Cohort of many")
    page = logged_in(editor).get(reverse("workflows:source-picker"), {"q": "many"}, **HX)
    text = page.content.decode()
    assert text.count('class="picker-item"') == 50
    assert "Showing the first 50" in text


def test_pickers_are_for_the_workspace_only(client, reader):
    for name in ("workflows:source-picker", "workflows:figure-picker"):
        anonymous = client.get(reverse(name), **HX)
        assert anonymous.status_code == 302, name
    client.force_login(reader)
    for name in ("workflows:source-picker", "workflows:figure-picker"):
        assert client.get(reverse(name), **HX).status_code == 403, name


def _figure(editor, **kwargs):
    from articles.models import Figure

    data = {"alt_text": "Brain MRI with lesions", "caption": "", "credit": "", **kwargs}
    return Figure.objects.create(
        uploaded_by=editor, file="figures/x.png", width=10, height=10, file_hash="0" * 64, **data
    )


def test_figure_picker_search_answers_the_matching_figures_for_htmx(
    logged_in, editor, django_assert_max_num_queries
):
    lesions = _figure(editor, alt_text="Lesions on MRI")
    _figure(editor, alt_text="Gait chart")
    client = logged_in(editor)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("workflows:figure-picker"), {"q": "lesions"}, **HX)
    assert response.status_code == 200
    assert _templates(response)[0] == "workflows/_figure_picker_items.html"
    page = response.content.decode()
    assert page.count('class="figure-picker-item"') == 1
    assert f"(figure:{lesions.pk})" in page
    by_number = client.get(reverse("workflows:figure-picker"), {"q": str(lesions.pk)}, **HX)
    assert f"(figure:{lesions.pk})" in by_number.content.decode()


def test_figure_picker_without_htmx_is_a_page(logged_in, editor):
    _figure(editor)
    response = logged_in(editor).get(reverse("workflows:figure-picker"))
    assert response.status_code == 200
    assert "workflows/figure_picker.html" in _templates(response)
    assert "<h1>Find a figure</h1>" in response.content.decode()


# --- notifications --------------------------------------------------------------------------


def _notification(user, n: int, read: bool = False) -> Notification:
    from django.utils import timezone

    return Notification.objects.create(
        dedupe_key=f"test-{user.pk}-{n}",
        recipient=user,
        subject=f"Review overdue {n}",
        body="Body.",
        read_at=timezone.now() if read else None,
    )


def test_marking_read_with_htmx_redraws_the_item_and_the_unread_count(
    logged_in, editor, django_assert_max_num_queries
):
    first, _second = _notification(editor, 1), _notification(editor, 2)
    client = logged_in(editor)
    url = reverse("workflows:notification-read", args=[first.pk])
    with django_assert_max_num_queries(6):
        response = client.post(url, {"read": "1"}, **HX)
    assert response.status_code == 200
    assert _templates(response)[0] == "workflows/_notification.html"
    page = response.content.decode()
    assert page.lstrip().startswith(f'<li class="notification" id="notification-{first.pk}">')
    assert ">Mark unread<" in page
    assert '<span id="unread-count" hx-swap-oob="true">; 1 unread</span>' in page
    first.refresh_from_db()
    assert first.read_at is not None

    again = client.post(url, {"read": "0"}, **HX).content.decode()
    assert "notification--unread" in again and ">Mark read<" in again
    assert '<span id="unread-count" hx-swap-oob="true">; 2 unread</span>' in again
    first.refresh_from_db()
    assert first.read_at is None


def test_marking_read_without_htmx_redirects_to_the_list(logged_in, editor):
    notification = _notification(editor, 1)
    client = logged_in(editor)
    url = reverse("workflows:notification-read", args=[notification.pk])
    response = client.post(url, {"read": "1", "page": "1"})
    assert response.status_code == 302
    listing_url = reverse("workflows:notifications")
    assert response["Location"] == f"{listing_url}?page=1#notification-{notification.pk}"
    notification.refresh_from_db()
    assert notification.read_at is not None
    listing = client.get(reverse("workflows:notifications")).content.decode()
    assert "Marked read." in listing
    assert f'action="{url}"' in listing and ">Mark unread<" in listing


def test_nobody_marks_someone_elses_notification(logged_in, editor, reviewer):
    theirs = _notification(reviewer, 1)
    client = logged_in(editor)
    url = reverse("workflows:notification-read", args=[theirs.pk])
    assert client.post(url, {"read": "1"}, **HX).status_code == 404
    assert client.post(url, {"read": "1"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_read_refuses_a_bad_value_a_get_and_strangers(client, logged_in, editor, reader):
    notification = _notification(editor, 1)
    url = reverse("workflows:notification-read", args=[notification.pk])
    anonymous = client.post(url, {"read": "1"}, **HX)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    staff = logged_in(editor)
    bad = staff.post(url, {"read": "yes"}, **HX)
    assert bad.status_code == 400 and "read: give 1" in bad.content.decode()
    assert staff.get(url).status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None
    client.force_login(reader)
    assert client.post(url, {"read": "1"}).status_code == 403


def test_notification_list_shows_the_count_and_a_toggle_per_item(
    logged_in, editor, django_assert_max_num_queries
):
    for n in range(5):
        _notification(editor, n, read=n % 2 == 0)
    client = logged_in(editor)
    with django_assert_max_num_queries(6):
        page = client.get(reverse("workflows:notifications")).content.decode()
    assert '<span id="unread-count">; 2 unread</span>' in page
    assert page.count('class="notification__toggle"') == 5
    assert "vendor/htmx.min.js" in page


def test_the_editor_lists_the_first_picker_page_not_the_whole_library(
    logged_in, editor, django_assert_max_num_queries
):
    # A library of thousands made every editor page 200 KB (500 sources in the picker).
    factories.SourceFactory.create_batch(52, title="Library entry")
    client = logged_in(editor)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("workflows:article-create"))
    text = page.content.decode()
    assert text.count('class="picker-item"') == 50
    assert "Showing the first 50; type more" in text
