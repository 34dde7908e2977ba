"""Figures: upload checks (by decoding), stripped metadata, sizes made once, rendering,
outside images refused at save, and the content hash covering the figures shown."""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image

from articles.images import MAX_PIXELS, MAX_UPLOAD_BYTES
from articles.models import Figure
from articles.services import figure_replace, figure_upload, render_body
from reviewsite.errors import Forbidden
from tests.helpers import image_bytes, make_article, upload
from workflows import services

pytestmark = pytest.mark.django_db


def _stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _upload(actor, data=None, **words) -> Figure:
    words.setdefault("alt_text", "MRI of the brain with two lesions")
    return figure_upload(actor=actor, file=upload(data or image_bytes()), **words)


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (640, 480), color=(200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x0112] = 1  # Orientation
    gps = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


# --- upload -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media_type", "ext"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp")],
)
def test_upload_accepts_png_jpeg_and_webp(editor, fmt, media_type, ext):
    figure = _upload(editor, image_bytes(fmt, (1200, 800)), caption="Axial FLAIR", credit="NHS")

    assert figure.media_type == media_type
    assert (figure.width, figure.height) == (1200, 800)
    assert figure.file.name.endswith(f"/full.{ext}")
    assert len(figure.file_hash) == 64
    assert figure.uploaded_by == editor
    with figure.file.open("rb") as stored:
        assert Image.open(stored).format == fmt


def test_sizes_are_made_once_never_upscaled_and_stored_beside_the_original(editor):
    figure = _upload(editor, image_bytes("PNG", (1200, 600)))

    assert [(s["width"], s["height"]) for s in figure.sizes] == [(480, 240), (960, 480)]
    folder = figure.file.name.rsplit("/", 1)[0]
    assert all(s["name"].startswith(folder + "/") for s in figure.sizes)
    files = _stored_files()
    assert len(files) == 3
    for size in figure.sizes:
        with figure.file.storage.open(size["name"]) as stored:
            assert Image.open(stored).size == (size["width"], size["height"])

    # Rendering and saving articles that show it make no new files.
    body = f"![]({'figure:'}{figure.pk})\n"
    render_body(body)
    make_article(editor=editor, body=body)
    assert _stored_files() == files


def test_a_small_image_gets_no_sizes_at_all(editor):
    figure = _upload(editor, image_bytes("PNG", (300, 200)))
    assert figure.sizes == []


def test_exif_and_gps_are_stripped_from_every_served_file(editor):
    data = _jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get(0x8825)  # the upload has GPS

    figure = _upload(editor, data)

    for name in [figure.file.name] + [s["name"] for s in figure.sizes]:
        with figure.file.storage.open(name) as stored:
            raw = stored.read()
        served = Image.open(io.BytesIO(raw))
        assert not served.getexif()
        assert "exif" not in served.info
        assert b"Camera maker" not in raw


def test_file_type_is_judged_by_content_not_name(editor):
    with pytest.raises(ValidationError) as refused:
        figure_upload(
            actor=editor,
            file=upload(b"GIF89a" + b"\0" * 64, name="photo.png"),
            alt_text="x",
        )
    assert "file" in refused.value.message_dict

    gif = image_bytes("GIF", (10, 10), mode="L")
    with pytest.raises(ValidationError) as refused:
        figure_upload(actor=editor, file=upload(gif, name="photo.png"), alt_text="x")
    assert "GIF" in refused.value.message_dict["file"][0]

    # A PNG named .txt is still a PNG.
    figure = figure_upload(actor=editor, file=upload(image_bytes(), name="notes.txt"), alt_text="x")
    assert figure.media_type == "image/png"
    assert Figure.objects.count() == 1


def test_oversize_upload_is_refused(editor):
    data = image_bytes("PNG", (10, 10)) + b"\0" * MAX_UPLOAD_BYTES
    with pytest.raises(ValidationError) as refused:
        figure_upload(actor=editor, file=upload(data), alt_text="x")
    assert "at most 5 MB" in refused.value.message_dict["file"][0]
    assert not Figure.objects.exists()
    assert _stored_files() == set()


def test_decompression_bomb_is_refused_before_decoding(editor):
    # A 1-bit PNG of 100 million pixels compresses to a few kilobytes.
    side = int(MAX_PIXELS**0.5) + 1000
    bomb = image_bytes("PNG", (side, side), mode="1")
    assert len(bomb) < MAX_UPLOAD_BYTES

    with pytest.raises(ValidationError) as refused:
        figure_upload(actor=editor, file=upload(bomb), alt_text="x")
    assert "million pixels" in refused.value.message_dict["file"][0]
    assert not Figure.objects.exists()


def test_svg_is_refused_with_the_reason(editor):
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(ValidationError) as refused:
        figure_upload(actor=editor, file=upload(svg, name="d.svg"), alt_text="x")
    message = refused.value.message_dict["file"][0]
    assert "SVG" in message and "scripts" in message


def test_damaged_image_is_refused(editor):
    data = image_bytes("PNG", (400, 400))
    with pytest.raises(ValidationError) as refused:
        figure_upload(actor=editor, file=upload(data[: len(data) // 2]), alt_text="x")
    assert "file" in refused.value.message_dict


def test_alt_text_is_required_unless_marked_decorative(editor):
    with pytest.raises(ValidationError) as refused:
        figure_upload(actor=editor, file=upload(image_bytes()), alt_text="  ")
    assert "decorative" in refused.value.message_dict["alt_text"][0]
    assert _stored_files() == set()

    figure = figure_upload(actor=editor, file=upload(image_bytes()), decorative=True)
    assert figure.decorative and figure.alt_text == ""


def test_only_editors_upload(reviewer):
    with pytest.raises(Forbidden):
        _upload(reviewer)
    assert not Figure.objects.exists()


# --- rendering ----------------------------------------------------------------------------


def test_figure_renders_as_responsive_figure_with_caption_and_credit(editor):
    data = image_bytes("PNG", (2000, 1000))
    figure = _upload(editor, data, caption="Axial <FLAIR>", credit="NHS")

    html = render_body(f"Intro.\n\n![](figure:{figure.pk})\n\nAfter.\n").html

    assert "<p><figure" not in html
    match = re.search(r"<figure class=\"figure\">(<img [^>]+>)<figcaption>(.*?)</figcaption>", html)
    assert match, html
    img, caption = match.groups()
    assert 'alt="MRI of the brain with two lesions"' in img
    assert 'loading="lazy"' in img and 'width="2000"' in img and 'height="1000"' in img
    assert 'sizes="' in img
    srcset = re.search(r'srcset="([^"]+)"', img).group(1)
    assert [part.rsplit(" ", 1)[1] for part in srcset.split(", ")] == [
        "480w",
        "960w",
        "1600w",
        "2000w",
    ]
    assert all(part.startswith(settings.MEDIA_URL) for part in srcset.split(", "))
    assert caption == 'Axial &lt;FLAIR&gt; <span class="figure-credit">NHS</span>'


def test_markdown_alt_overrides_only_when_given_and_decorative_is_empty(editor):
    described = _upload(editor)
    decorative = _upload(editor, decorative=True, alt_text="")

    html = render_body(
        f"![A clearer description](figure:{described.pk})\n\n![](figure:{decorative.pk})\n"
    ).html

    assert 'alt="A clearer description"' in html
    assert 'alt=""' in html
    assert "<figcaption>" not in html  # neither has a caption or credit


def test_unknown_figure_is_a_problem_like_an_unknown_key(editor):
    rendering = render_body("![x](figure:9999)\n")
    assert rendering.problems[0]["key"] == "figure:9999"
    assert "No figure" in rendering.problems[0]["error"]
    assert "<img" not in rendering.html

    article = make_article(editor=editor, body="Text.\n\n![x](figure:9999)\n")
    with pytest.raises(services.CitationProblems) as refused:
        services.article_submit(article_id=article.pk, actor=editor)
    assert refused.value.extra["markers"][0]["line"] == 3


def test_figure_uploaded_after_save_resolves_at_submit(editor):
    figure = _upload(editor)
    article = make_article(editor=editor, body=f"![x](figure:{figure.pk + 1})\n")
    assert article.latest_revision.unresolved_markers
    second = _upload(editor)
    assert second.pk == figure.pk + 1

    submitted = services.article_submit(article_id=article.pk, actor=editor)
    revision = submitted.latest_revision
    revision.refresh_from_db()
    assert revision.unresolved_markers == []
    assert revision.figures[0]["ref"] == str(second.pk)
    assert "<figure" in revision.body_html


def test_figure_amid_text_is_a_problem(editor):
    figure = _upload(editor)
    rendering = render_body(f"See ![x](figure:{figure.pk}) here.\n")
    assert "line of its own" in rendering.problems[0]["error"]


def test_sanitiser_still_drops_what_figures_do_not_need():
    from citations.rendering import sanitize_html

    cleaned = sanitize_html(
        '<figure onclick="x()" style="color:red"><img src="javascript:alert(1)" onerror="x()" '
        '><figcaption>c</figcaption></figure><iframe src="/"></iframe>'
    )
    assert "onclick" not in cleaned and "onerror" not in cleaned and "style" not in cleaned
    assert "javascript" not in cleaned and "iframe" not in cleaned


# --- outside images ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Text.\n\n![scan](https://example.org/scan.png)\n",
        "Text.\n\n<img src=x onerror=alert(1)>\n",
        "Text with <img src='https://example.org/a.png'> inline.\n",
        "![pixel](data:image/png;base64,iVBORw0KGgo=)\n",
        "![ref][logo]\n\n[logo]: https://example.org/logo.png\n",
    ],
)
def test_outside_images_are_refused_at_save_with_how_to_upload(editor, body):
    with pytest.raises(ValidationError) as refused:
        make_article(editor=editor, body=body)
    message = refused.value.message_dict["body"][0]
    assert message.startswith("Line ")
    assert "figure:<id>" in message and "Upload" in message


def test_images_in_code_are_text_not_images(editor):
    body = "Write `![x](https://example.org/a.png)` or `<img>`:\n\n    <img src=a>\n"
    article = make_article(editor=editor, body=body)
    assert "&lt;img" in article.latest_revision.body_html


# --- the content hash --------------------------------------------------------------------------


def test_replacing_the_image_changes_the_hash_and_needs_a_new_review(editor, reviewer):
    figure = _upload(editor)
    body = f"Intro.\n\n![](figure:{figure.pk})\n"
    article = make_article(editor=editor, reviewer=reviewer, state="approved", body=body)
    live = article.live_revision
    assert live.figures[0]["file_hash"] == figure.file_hash

    figure_replace(actor=editor, figure_id=figure.pk, file=upload(image_bytes("PNG", (800, 800))))
    figure.refresh_from_db()
    assert figure.file_hash != live.figures[0]["file_hash"]

    # The live page keeps the reviewed image: its files are still there.
    live_src = live.figures[0]["src"]
    assert figure.file.storage.exists(live_src.removeprefix(settings.MEDIA_URL))

    # Saving the same text is a change now: a new revision, a draft again.
    edited = services.article_edit(article_id=article.pk, actor=editor, changes={"body": body})
    assert edited.status == "draft"
    assert edited.latest_revision.content_hash != live.content_hash
    assert edited.latest_revision.figures[0]["file_hash"] == figure.file_hash
    assert edited.live_revision == live


def test_body_without_figures_hashes_as_before(editor):
    from articles.models import ArticleRevision

    article = make_article(editor=editor, body="Plain.")
    revision = article.latest_revision
    assert revision.content_hash == ArticleRevision.hash_content(
        title=revision.title, summary="", body="Plain.", intentional={}
    )


# --- storage settings ----------------------------------------------------------------------


def _storage_setting(**env) -> str:
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.STORAGES['default']['BACKEND']); "
        "print(settings.STORAGES['default'].get('OPTIONS', {}).get('bucket_name', ''))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_"))},
            "DJANGO_SETTINGS_MODULE": "reviewsite.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout + result.stderr


def test_storage_is_the_filesystem_by_default_and_s3_when_asked():
    assert "django.core.files.storage.FileSystemStorage" in _storage_setting()
    # Selected without importing boto3 (not installed here): it loads on first use only.
    s3 = _storage_setting(REVIEWSITE_MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="figures-bkt")
    assert "storages.backends.s3.S3Storage\nfigures-bkt" in s3
    assert "ImproperlyConfigured" in _storage_setting(REVIEWSITE_MEDIA_STORAGE="ftp")


def test_a_failed_save_leaves_no_files_behind(editor, monkeypatch):
    from django.db import DatabaseError

    def refuse(self, *args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Figure, "save", refuse)
    with pytest.raises(DatabaseError):
        _upload(editor, image_bytes("PNG", (1200, 600)))
    assert _stored_files() == set()
