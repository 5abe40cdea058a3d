"""Property tests: no image input raises anything but the library's own errors.

Inputs: random bytes, empty data, PNG headers declaring any dimensions (up to 2^32-1 a side), truncated
and bit-flipped PNG / JPEG / GIF / BMP / TIFF / WebP files, JPEG frame headers with forged sizes, and numpy
arrays of odd shapes and dtypes, through every backend.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cccd_reader import CCCDError, decode_qr_image, read_qr_image
from cccd_reader.qr.backends import BACKEND_NAMES

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_files() -> dict[str, bytes]:
    buf = io.BytesIO()
    segno.make("001099012345||Nguyễn Thị Ỷ|01012003|Nữ|Hà Nội|15082021", encoding="utf-8").save(
        buf, kind="png", scale=3, border=2)
    qr = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = {"PNG": buf.getvalue()}
    for fmt in ("JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM"):
        b = io.BytesIO()
        qr.save(b, format=fmt)
        out[fmt] = b.getvalue()
    return out


VALID = _valid_files()


def _check(data: object, backend: str = "auto") -> None:
    try:
        texts = decode_qr_image(data, backend=backend, timeout=0.02)
    except CCCDError:
        return
    assert isinstance(texts, list) and all(isinstance(t, str) for t in texts)


def _png(width: int, height: int, depth: int, colour: int, idat: bytes, *, interlace: int = 0) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_string_as_a_path(path: str) -> None:
    _check(path)


@SETTINGS
@given(
    st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 4, 8, 16, 3, 0]),
    st.sampled_from([0, 2, 3, 4, 6, 1, 7]), st.binary(max_size=256), st.booleans(), st.integers(0, 1),
)
def test_png_headers_with_any_dimensions(width: int, height: int, depth: int, colour: int, raw: bytes,
                                         compress: bool, interlace: int) -> None:
    idat = zlib.compress(raw) if compress else raw
    _check(_png(width, height, depth, colour, idat, interlace=interlace))


@SETTINGS
@given(st.integers(1, 5000), st.integers(1, 5000), st.integers(0, 64))
def test_small_declared_images_with_too_little_data(width: int, height: int, rows: int) -> None:
    raw = b"".join(b"\0" + bytes(width) for _ in range(min(rows, height)))
    _check(_png(width, height, 8, 0, zlib.compress(raw)))


@SETTINGS
@given(st.sampled_from(sorted(VALID)), st.data())
def test_truncated_files(fmt: str, data: st.DataObject) -> None:
    blob = VALID[fmt]
    cut = data.draw(st.integers(0, len(blob) - 1))
    _check(blob[:cut])


@SETTINGS
@given(st.sampled_from(sorted(VALID)), st.data())
def test_bit_flipped_files(fmt: str, data: st.DataObject) -> None:
    blob = bytearray(VALID[fmt])
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, min(len(blob) - 1, 400)))  # headers live at the start
        blob[pos] = data.draw(st.integers(0, 255))
    _check(bytes(blob))


@SETTINGS
@given(st.integers(0, 65535), st.integers(0, 65535), st.integers(1, 4))
def test_jpeg_frame_header_with_forged_size(height: int, width: int, components: int) -> None:
    blob = bytearray(VALID["JPEG"])
    sof = blob.find(b"\xff\xc0")  # baseline frame header: FFC0, length, precision, height, width, Nf
    if sof > 0:
        struct.pack_into(">HH", blob, sof + 5, height, width)
        blob[sof + 9] = components
    _check(bytes(blob))


_DTYPES = [np.uint8, np.int8, np.uint16, np.int32, np.float32, np.float64, np.bool_, np.complex64, np.int64]


@SETTINGS
@given(
    st.lists(st.integers(0, 40), min_size=0, max_size=4),
    st.sampled_from(_DTYPES),
    st.sampled_from(BACKEND_NAMES),
    st.integers(0, 2**32 - 1),
)
def test_numpy_arrays(shape: list[int], dtype: type, backend: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    array = (rng.random(tuple(shape)) * 300 - 20).astype(dtype)
    _check(array, backend)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([np.nan, np.inf, -np.inf, 1e308]))
def test_non_finite_floats(value: float) -> None:
    _check(np.full((30, 30), value, dtype=np.float64))


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 3), st.sampled_from(BACKEND_NAMES))
def test_tiny_images_every_backend(width: int, height: int, backend: str) -> None:
    _check(Image.new("L", (width, height), 0), backend)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=512))
def test_read_qr_image_raises_only_library_errors(data: bytes) -> None:
    with pytest.raises(CCCDError):
        read_qr_image(data, timeout=0.02)
