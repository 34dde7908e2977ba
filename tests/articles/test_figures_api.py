"""The figures API: upload (multipart), metadata, the picker's list, and who may use them."""

import pytest
from rest_framework.test import APIClient

from articles.models import Figure
from articles.services import figure_upload
from tests.helpers import client_for, image_bytes, upload

pytestmark = pytest.mark.django_db


def _post(client, data=None, **fields):
    fields.setdefault("alt_text", "Lesions on MRI")
    return client.post(
        "/api/v1/figures/",
        {"file": upload(data or image_bytes("PNG", (1000, 500))), **fields},
        format="multipart",
    )


def test_upload_answers_201_with_the_figure(editor):
    response = _post(client_for(editor), caption="Axial FLAIR", credit="NHS", decorative="false")

    assert response.status_code == 201, response.json()
    body = response.json()
    figure = Figure.objects.get()
    assert body["id"] == figure.pk
    assert body["marker"] == f"![Lesions on MRI](figure:{figure.pk})"
    assert (body["width"], body["height"], body["media_type"]) == (1000, 500, "image/png")
    assert [s["width"] for s in body["sizes"]] == [480, 960]
    assert body["url"].startswith("/media/figures/")
    assert body["caption"] == "Axial FLAIR" and body["uploaded_by"] == "eddie"


def test_uploaded_files_are_served_from_this_site(client, editor):
    body = _post(client_for(editor)).json()
    response = client.get(body["sizes"][0]["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "immutable" in response["Cache-Control"]
    assert client.get("/media/../pyproject.toml").status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"data": b"<svg xmlns='http://www.w3.org/2000/svg'/>"}, "file"),
        ({"data": b"not an image at all"}, "file"),
        ({"alt_text": ""}, "alt_text"),
    ],
)
def test_bad_uploads_are_400_with_field_messages(editor, fields, field):
    response = _post(client_for(editor), **fields)
    assert response.status_code == 400
    assert field in response.json()
    assert not Figure.objects.exists()


def test_missing_file_is_400(editor):
    response = client_for(editor).post("/api/v1/figures/", {"alt_text": "x"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_decorative_upload_needs_no_alt_text(editor):
    response = _post(client_for(editor), alt_text="", decorative="true")
    assert response.status_code == 201
    assert response.json()["decorative"] is True


def test_reviewers_read_but_may_not_upload(editor, reviewer):
    figure = figure_upload(actor=editor, file=upload(image_bytes()), alt_text="x")
    client = client_for(reviewer)
    assert _post(client).status_code == 403
    assert client.get(f"/api/v1/figures/{figure.pk}/").status_code == 200


def test_readers_and_anonymous_callers_see_no_figures(editor, reader):
    figure = figure_upload(actor=editor, file=upload(image_bytes()), alt_text="x")
    assert client_for(reader).get(f"/api/v1/figures/{figure.pk}/").status_code == 403
    assert client_for(reader).get("/api/v1/figures/").status_code == 403
    assert APIClient().get("/api/v1/figures/").status_code == 401
    assert _post(APIClient()).status_code == 401


def test_figure_list_queries_are_pinned(editor, django_assert_max_num_queries):
    for n in range(12):
        figure_upload(actor=editor, file=upload(image_bytes("PNG", (10, 10))), alt_text=f"f{n}")
    client = client_for(editor)
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/figures/")
    assert response.status_code == 200
    assert response.json()["count"] == 12

    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/figures/", {"q": "f1"})
    assert response.status_code == 200
    assert {f["alt_text"] for f in response.json()["results"]} == {"f1", "f10", "f11"}


def test_figures_are_in_the_schema(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/figures/" in schema and "/api/v1/figures/{id}/" in schema
    assert "multipart/form-data" in schema


def test_revisions_list_the_figures_they_show(editor):
    from tests.helpers import make_article

    figure = figure_upload(actor=editor, file=upload(image_bytes()), alt_text="A scan")
    article = make_article(editor=editor, body=f"![](figure:{figure.pk})\n")
    response = client_for(editor).get(f"/api/v1/articles/{article.pk}/revisions/")
    assert response.status_code == 200
    (shown,) = response.json()["results"][0]["figures"]
    assert shown["id"] == figure.pk and shown["file_hash"] == figure.file_hash
    assert shown["alt"] == "A scan" and shown["src"].startswith("/media/figures/")
