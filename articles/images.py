"""Check an uploaded image by decoding it with Pillow, and make what the site serves.

What readers get is always re-encoded by Pillow from the decoded pixels: the
uploaded bytes are never served, so EXIF (camera, GPS position), XMP, comments
and anything else hidden in the file stay behind. Responsive sizes are made here,
once, when the figure is uploaded; pages only link to them.

SVG is refused, not sanitised: an SVG is a program (scripts, external references,
CSS, entity tricks) and sanitising it is a moving target; a PNG or WebP export of
the drawing shows the same thing with nothing to execute.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

#: Largest upload accepted, in bytes.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Largest decoded image, in pixels (40 megapixels): refuses decompression bombs, whose
#: few kilobytes of PNG or WebP decode to gigabytes.
MAX_PIXELS = 40_000_000
#: Widths of the responsive sizes; only those narrower than the image are made.
RESPONSIVE_WIDTHS = (480, 960, 1600)

#: Pillow format name -> (file extension, media type).
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
_ACCEPTED = "PNG, JPEG or WebP"


@dataclass(frozen=True)
class Encoded:
    """One file to store: the re-encoded image at one width."""

    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class ProcessedImage:
    """An accepted upload: its format, size, hash, the full-size copy and the smaller sizes."""

    format: str
    extension: str
    width: int
    height: int
    sha256: str
    full: Encoded
    sizes: list[Encoded]


def _refuse(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in text


def process_image(data: bytes) -> ProcessedImage:
    """Decode ``data`` and make the full-size copy and the responsive sizes, all stripped.

    Raises ``ValidationError`` on the ``file`` field for anything that is not a PNG,
    JPEG or WebP within the byte and pixel limits, judged by decoding, not by name.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; figures may be at most "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB. Export a smaller image."
        )
    if not data:
        raise _refuse("The file is empty.")
    if _looks_like_svg(data[:1024]):
        raise _refuse(
            "SVG images are not accepted: they can carry scripts and outside links. "
            f"Export the drawing as {_ACCEPTED} and upload that."
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own bomb limit; we refuse at ours, before decoding.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise _refuse(
                    f"This is a {image.format} image; upload {_ACCEPTED} (judged by the "
                    "file's content, not its name)."
                )
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _refuse(
                    f"The image is {width} × {height} pixels; figures may have at most "
                    f"{MAX_PIXELS // 1_000_000} million pixels."
                )
            image.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(
            f"This file is not an image we can read; upload {_ACCEPTED} (judged by the "
            "file's content, not its name)."
        )
    except (OSError, ValueError, SyntaxError):
        raise _refuse("The image is damaged or truncated and cannot be decoded.")

    fmt = image.format
    # Turn the pixels the way the camera said, since the EXIF that said so is dropped.
    image = ImageOps.exif_transpose(image)
    image = _normalise_mode(image, fmt)
    full = _encode(image, fmt)
    # Widest first, each made from the one before: resizing from the full image every
    # time cost most of an upload (benchmarks/figures_bench.py).
    sizes, source = [], image
    for width in sorted((w for w in RESPONSIVE_WIDTHS if w < image.width), reverse=True):
        source = _narrowed(source, width)
        sizes.insert(0, _encode(source, fmt))
    return ProcessedImage(
        format=fmt,
        extension=FORMATS[fmt][0],
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
        full=full,
        sizes=sizes,
    )


def _narrowed(image: Image.Image, width: int) -> Image.Image:
    """``image`` scaled down to ``width`` pixels wide, keeping its aspect ratio."""
    height = max(1, round(image.height * width / image.width))
    # reducing_gap: a fast integer reduction first, then LANCZOS (Pillow's own advice).
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _normalise_mode(image: Image.Image, fmt: str) -> Image.Image:
    """A mode the format can write and LANCZOS can resize (palettes become RGB/RGBA)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if fmt == "JPEG":
        return image.convert("L" if image.mode in ("1", "L") else "RGB")
    return image.convert("RGBA" if has_alpha else "RGB")


def _encode(image: Image.Image, fmt: str) -> Encoded:
    """Write ``image`` with no metadata at all: only pixels (and an sRGB assumption)."""
    out = io.BytesIO()
    options: dict = {}
    if fmt == "JPEG":
        options = {"quality": 85, "optimize": True, "progressive": True}
    elif fmt == "WEBP":
        options = {"quality": 85, "method": 4}
    elif fmt == "PNG":
        options = {"optimize": True}
    # A fresh image from the pixels alone, so no info (EXIF, XMP, text chunks) is carried.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    clean.save(out, format=fmt, **options)
    return Encoded(width=image.width, height=image.height, data=out.getvalue())
