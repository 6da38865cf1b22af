"""Every image the shop serves is re-encoded from pixels: upright, and with no metadata left.

Uploads carry EXIF (GPS position, camera, orientation), XMP, comments and an ICC profile, in each
accepted format; what the shop then serves, original and thumbnail, is read back byte for byte.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from tests.conftest import shop_env
from tests.e2e.client import Shopper, create_product, log_in_admin
from tests.support import LiveServer, scratch_database, start_server, stop_server

CAMERA = "SecretCam 3000"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool='
    b'"LeakyEditor"/></rdf:RDF></x:xmpmeta>'
)
# Any trace of these in a served file means metadata got through.
TELLTALES = [
    b"Exif",
    CAMERA.encode(),
    b"LeakyEditor",
    b"ns.adobe.com",
    b"ICC_PROFILE",
    b"iCCP",
    b"eXIf",
    b"a private comment",
    b"acsp",
]
ROTATE_90_CW = 6  # EXIF orientation: the stored pixels must be turned 90° clockwise to view


def sideways_photo(image_format: str) -> bytes:
    """A 60×30 picture stored sideways (red left, blue right) whose EXIF says to turn it upright,
    so upright it is 30×60 with red on top; with GPS, camera, XMP, a comment and an ICC profile."""
    image = Image.new("RGB", (60, 30), "blue")
    image.paste((255, 0, 0), (0, 0, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = ROTATE_90_CW
    exif[0x010F] = "SecretMaker"
    exif[0x0110] = CAMERA
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (37.0, 33.0, 59.0), 3: "E", 4: (126.0, 58.0, 41.0)})
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    options: dict[str, object] = {"exif": exif, "icc_profile": icc, "xmp": XMP}
    if image_format == "JPEG":
        options["comment"] = b"a private comment"
    if image_format == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", "a private comment")
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        options["pnginfo"] = info
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    data = buffer.getvalue()
    assert CAMERA.encode() in data and b"LeakyEditor" in data  # the upload does carry them
    return data


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path: Path = tmp_path_factory.mktemp("images")
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path), tmp_path)
        try:
            yield live
        finally:
            stop_server(live)


def assert_clean_and_upright(data: bytes, size: tuple[int, int]) -> None:
    for telltale in TELLTALES:
        assert telltale not in data, telltale
    image = Image.open(io.BytesIO(data))
    assert not image.getexif() and not set(image.info) & {"exif", "icc_profile", "xmp", "comment"}
    assert image.size == size
    rgb = image.convert("RGB")
    top = rgb.getpixel((size[0] // 2, size[1] // 5))
    bottom = rgb.getpixel((size[0] // 2, size[1] * 4 // 5))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60, top  # red on top: turned upright
    assert bottom[2] > 200 and bottom[0] < 60, bottom


@pytest.mark.parametrize(
    ("image_format", "content_type"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
    ],
)
def test_served_originals_and_thumbnails_have_no_metadata_and_stand_upright(
    server: LiveServer, image_format: str, content_type: str
) -> None:
    admin: Shopper = log_in_admin(server)
    product = create_product(admin, stock=1)
    upload = sideways_photo(image_format)
    answer = admin.put(
        f"/api/products/{product['id']}/image",
        files={"file": (f"photo.{image_format.lower()}", upload, content_type)},
    )
    assert answer.status_code == 200, answer.text
    shown = admin.get(f"/api/products/{product['id']}").json()
    original = admin.http.get(shown["image_url"])
    thumbnail = admin.http.get(shown["thumbnail_url"])
    assert original.status_code == thumbnail.status_code == 200
    assert original.headers["content-type"] == content_type
    assert original.content != upload
    assert_clean_and_upright(original.content, (30, 60))
    assert_clean_and_upright(thumbnail.content, (30, 60))  # smaller than the 400 px cap
