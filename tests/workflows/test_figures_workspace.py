"""Figures in the workspace: upload and list pages, the editor's picker, outside images
refused at save, figures on the review page and in the staff preview."""

import pytest
from django.urls import reverse

from articles.models import Article, Figure
from articles.services import figure_upload
from tests.helpers import image_bytes, make_article, upload

pytestmark = pytest.mark.django_db


def _figure(actor, **words) -> Figure:
    words.setdefault("alt_text", "Brain MRI with lesions")
    return figure_upload(actor=actor, file=upload(image_bytes("PNG", (1000, 600))), **words)


def test_editor_uploads_through_the_form_and_returns_to_the_article(logged_in, editor):
    article = make_article(editor=editor)
    edit_url = reverse("workflows:article-edit", args=[article.pk])
    client = logged_in(editor)
    assert client.get(reverse("workflows:figure-create"), {"next": edit_url}).status_code == 200

    response = client.post(
        reverse("workflows:figure-create"),
        {
            "file": upload(image_bytes("WEBP", (800, 400)), name="scan.webp"),
            "alt_text": "A scan",
            "caption": "Axial view",
            "next": edit_url,
        },
    )

    figure = Figure.objects.get()
    assert response.status_code == 302 and response["Location"] == edit_url
    assert (figure.media_type, figure.caption, figure.uploaded_by) == (
        "image/webp",
        "Axial view",
        editor,
    )
    page = client.get(edit_url).content.decode()
    assert f"Figure {figure.pk} uploaded" in page
    assert f"![A scan](figure:{figure.pk})" in page  # the picker lists it


def test_upload_form_goes_back_only_to_the_workspace(logged_in, editor):
    response = logged_in(editor).post(
        reverse("workflows:figure-create"),
        {"file": upload(image_bytes()), "alt_text": "x", "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("workflows:figure-list")


@pytest.mark.parametrize(
    ("data", "alt_text", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "x", "SVG images are not accepted"),
        (b"GIF89a not really", "x", "not an image we can read"),
        (None, "", "or mark it decorative"),
    ],
)
def test_refused_uploads_show_why_on_the_form(logged_in, editor, data, alt_text, message):
    response = logged_in(editor).post(
        reverse("workflows:figure-create"),
        {"file": upload(data or image_bytes()), "alt_text": alt_text},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Figure.objects.exists()


def test_reviewers_see_figures_but_may_not_upload(logged_in, editor, reviewer):
    figure = _figure(editor)
    client = logged_in(reviewer)
    assert client.get(reverse("workflows:figure-list")).status_code == 200
    assert client.get(reverse("workflows:figure-detail", args=[figure.pk])).status_code == 200
    response = client.post(
        reverse("workflows:figure-create"), {"file": upload(image_bytes()), "alt_text": "x"}
    )
    assert response.status_code == 403
    assert Figure.objects.count() == 1


def test_figure_list_queries_are_pinned(logged_in, editor, django_assert_max_num_queries):
    for n in range(15):
        _figure(editor, alt_text=f"Figure number {n}")
    client = logged_in(editor)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("workflows:figure-list"))
    assert response.status_code == 200
    assert response.content.decode().count("figure-thumb") == 15


def test_editor_page_queries_stay_pinned_with_many_figures(
    logged_in, editor, django_assert_max_num_queries
):
    article = make_article(editor=editor)
    for n in range(15):
        _figure(editor, alt_text=f"Figure {n}")
    client = logged_in(editor)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("workflows:article-edit", args=[article.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('class="figure-picker-item"') == 15


def test_picker_inserts_the_figure_marker_on_its_own_line(logged_in, editor):
    figure = _figure(editor)
    page = logged_in(editor).get(reverse("workflows:article-create")).content.decode()
    assert (
        f'data-marker="&#10;&#10;![Brain MRI with lesions](figure:{figure.pk})&#10;&#10;"' in page
    )
    assert "vendor/htmx.min.js" in page and "source-picker.js" in page
    assert "<script>" not in page


def test_outside_image_is_refused_at_save_in_the_workspace(logged_in, editor):
    article = make_article(editor=editor)
    client = logged_in(editor)
    response = client.post(
        reverse("workflows:article-edit", args=[article.pk]),
        {
            "title": "Relapsing MS",
            "body": "Text.\n\n![scan](https://example.org/scan.png)\n",
            "audience": "general",
            "etag": article.etag,
            "save": "1",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 3" in page and "Upload it under Figures" in page
    # Summarised at the top, with a link that takes the caret to line 3 of the body.
    summary = page[page.index('class="error-summary"') :]
    assert 'href="?line=3#id_body" data-line="3">Body: Line 3: the image' in summary
    assert Article.objects.get().revisions.count() == 1

    response = client.post(
        reverse("workflows:article-create"),
        {"title": "New", "body": "<img src=x>", "audience": "general", "save": "1"},
    )
    page = response.content.decode()
    assert 'class="error-summary"' in page and "is not on this site" in page
    assert 'data-line="1"' in page
    assert Article.objects.count() == 1


def test_outside_image_is_refused_at_save_through_the_api(editor):
    from tests.helpers import client_for

    response = client_for(editor).post(
        "/api/v1/articles/",
        {"title": "T", "body": "![x](https://example.org/a.png)"},
        format="json",
    )
    assert response.status_code == 400
    assert "figure:<id>" in response.json()["body"][0]


def test_preview_shows_the_figure_with_caption_and_alt(logged_in, editor):
    figure = _figure(editor, caption="Two lesions", credit="Radiopaedia")
    article = make_article(editor=editor, body=f"Intro.\n\n![](figure:{figure.pk})\n")
    page = logged_in(editor).get(f"/preview/articles/{article.pk}/").content.decode()
    assert '<figure class="figure">' in page
    assert 'alt="Brain MRI with lesions"' in page
    assert "Two lesions" in page and "Radiopaedia" in page


def test_live_page_shows_the_figure(client, editor, reviewer):
    figure = _figure(editor, caption="Two lesions")
    article = make_article(
        editor=editor, reviewer=reviewer, state="approved", body=f"![](figure:{figure.pk})\n"
    )
    response = client.get(article.get_absolute_url())
    page = response.content.decode()
    assert 'srcset="/media/figures/' in page and "Two lesions" in page
    assert "img-src 'self'" in response["Content-Security-Policy"]


def test_review_page_shows_figure_changes(logged_in, editor, reviewer):
    from articles.services import figure_replace
    from workflows import services

    kept = _figure(editor, alt_text="Kept")
    dropped = _figure(editor, alt_text="Dropped")
    article = make_article(
        editor=editor,
        reviewer=reviewer,
        state="approved",
        body=f"![](figure:{kept.pk})\n\n![](figure:{dropped.pk})\n",
    )
    added = _figure(editor, alt_text="Added one")
    figure_replace(actor=editor, figure_id=kept.pk, file=upload(image_bytes("PNG", (500, 500))))
    services.article_edit(
        article_id=article.pk,
        actor=editor,
        changes={"body": f"![](figure:{kept.pk})\n\n![](figure:{added.pk})\n"},
    )

    page = logged_in(reviewer).get(reverse("workflows:article-review", args=[article.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    added_at, replaced_at, removed_at = (
        html.index(">Added</h3>", html.index('id="figures-heading"')),
        html.index("Image replaced"),
        html.index(">Removed</h3>", html.index('id="figures-heading"')),
    )
    assert f"figure:{added.pk}" in html[added_at:replaced_at]
    assert f"figure:{kept.pk}" in html[replaced_at:removed_at]
    assert f"figure:{dropped.pk}" in html[removed_at:]
    # The Markdown diff shows the reference lines too.
    assert f"<del>![](figure:{dropped.pk})</del>" in html


def test_replacing_through_the_workspace(logged_in, editor):
    figure = _figure(editor)
    old_hash = figure.file_hash
    response = logged_in(editor).post(
        reverse("workflows:figure-replace", args=[figure.pk]),
        {"file": upload(image_bytes("JPEG", (700, 700)), name="new.jpg")},
    )
    assert response.status_code == 302
    figure.refresh_from_db()
    assert figure.file_hash != old_hash and figure.media_type == "image/jpeg"


def test_an_invalid_edit_is_summarised_at_the_top_with_a_link_to_the_field(logged_in, editor):
    article = make_article(editor=editor)
    response = logged_in(editor).post(
        reverse("workflows:article-edit", args=[article.pk]),
        {"title": "", "body": "Text.", "audience": "general", "etag": article.etag, "save": "1"},
    )
    page = response.content.decode()
    summary = page[page.index('class="error-summary"') :]
    assert '<a href="#id_title">Title: This field is required.</a>' in summary
