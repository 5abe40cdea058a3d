"""QR codes from images: every backend, the cascade, sources, errors, frames.

Expected texts come from outside the decoders: the payloads written into samples/qr/manifest.json by the
generator (benchmarks/qr_dataset.py), the example payloads of cccd-card-facts §1.4 rendered here with
segno, and short Vietnamese strings that stock zbar is known to garble (dependencies.md §4.2).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import segno
from PIL import Image

from cccd_reader import (
    CCCDError,
    InputError,
    QRBackendUnavailable,
    QRImageError,
    QRNotFoundError,
    decode_qr_image,
    read_qr_image,
)
from cccd_reader.qr import backends as qrbackends
from cccd_reader.qr import image as qrimage
from cccd_reader.qr import preprocess as qrpre
from cccd_reader.qr.backends import BACKEND_NAMES, repair_latin1, symbol_text, text_from_bytes
from cccd_reader.qr.image import decode_qr_stream, frames_from_dir, load_image

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")  # no backend may skip in CI
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "qr"
sys.path.insert(0, str(ROOT / "benchmarks"))
import qr_dataset  # noqa: E402

# cccd-card-facts.md §1.4, examples 3 and 2 (synthetic, as published) and §4 of dependencies.md
PAYLOAD_7 = ("079090001001|020123456|Nguyễn Văn A|01011990|Nam|1 Lê Duẫn, Bến Nghé, Quận 1, "
             "Thành phố Hồ Chí Minh|01012021")
PAYLOAD_11 = ("012345678912|123456789|Nguyễn Văn A|01011990|Nam|123 Đường Số 1, Phường 2, Quận 3, "
              "TP Hồ Chí Minh|01012022||||")
PAYLOAD_DEPS = ("001099012345|187654321|Nguyễn Văn An|01011990|Nam|Số 1 Phố Huế, Phường Hàng Bài, "
                "Quận Hoàn Kiếm, Hà Nội|15082021")
# strings stock zbar turns into Big5, Shift_JIS, Latin-1 and private-use garbage (dependencies.md §4.2)
GARBLED_BY_ZBAR = ["Tuấn", "Loan Tỉnh", "Hàng Lê", "Phương"]


def _backend_available(name: str) -> bool:
    try:
        qrbackends.get_backend(name)
    except QRBackendUnavailable:
        return False
    return True


def backend_params() -> list[object]:
    """Every backend; missing ones skip locally but fail under CI=true (all three are installed there)."""
    params: list[object] = []
    for name in BACKEND_NAMES:
        if _backend_available(name) or IN_CI:
            params.append(name)
        else:
            params.append(pytest.param(name, marks=pytest.mark.skip(reason=f"{name} backend not installed")))
    return params


def qr_png(text: str, *, scale: int = 6, border: int = 4) -> bytes:
    buf = io.BytesIO()
    segno.make(text, encoding="utf-8", micro=False).save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()


def qr_pil(text: str, **kw: int) -> Image.Image:
    return Image.open(io.BytesIO(qr_png(text, **kw))).convert("L")


def _samples() -> list[dict[str, str]]:
    return json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))["cases"]


# --- every backend, exact text ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize("sample", _samples(), ids=lambda s: s["file"])
def test_samples_decode_exactly_through_every_backend(backend: str, sample: dict[str, str]) -> None:
    texts = decode_qr_image(SAMPLES / sample["file"], backend=backend)
    assert texts == [sample["payload"]]


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize("sample", _samples(), ids=lambda s: s["file"])
def test_samples_parse_as_cards(backend: str, sample: dict[str, str]) -> None:
    record = read_qr_image(SAMPLES / sample["file"], backend=backend)
    fields = sample["payload"].split("|")
    assert record.id_number == fields[0]
    assert record.full_name == fields[2]
    assert record.address == fields[5]
    assert record.field_count == (7 if sample["generation"] == "cccd" else 11)
    assert record.old_id_number == (fields[1] or None)


def test_samples_cover_both_generations_and_long_text() -> None:
    cases = _samples()
    assert {c["generation"] for c in cases} == {"cccd", "can-cuoc"}
    assert any(c["payload"].split("|")[1] == "" for c in cases)
    assert max(len(c["payload"].encode()) for c in cases) > 300


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize("payload", [PAYLOAD_7, PAYLOAD_11, PAYLOAD_DEPS, qr_dataset.ALL_DIACRITICS])
def test_published_payloads_exact(backend: str, payload: str) -> None:
    assert decode_qr_image(qr_png(payload), backend=backend, preprocess=False) == [payload]


@pytest.mark.parametrize("backend", backend_params())
@pytest.mark.parametrize("text", GARBLED_BY_ZBAR)
def test_short_vietnamese_exact(backend: str, text: str) -> None:
    assert decode_qr_image(qr_png(text), backend=backend, preprocess=False) == [text]


def test_stock_zbar_garbles_what_our_zbar_backend_reads_right() -> None:
    """The reason for binary mode: pyzbar's own decode() guesses a charset and gets these wrong."""
    if not _backend_available("zbar") and not IN_CI:
        pytest.skip("zbar not installed")
    from pyzbar.pyzbar import ZBarSymbol
    from pyzbar.pyzbar import decode as stock_decode

    wrong = 0
    for text in GARBLED_BY_ZBAR:
        image = qr_pil(text, scale=5)
        stock = stock_decode(image, symbols=[ZBarSymbol.QRCODE])[0].data.decode("utf-8", "replace")
        wrong += stock != text
        assert decode_qr_image(image, backend="zbar", preprocess=False) == [text]
    assert wrong >= 3
    assert qrbackends.get_backend("zbar").binary_mode  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", backend_params())
def test_eci_utf8_symbol(backend: str) -> None:
    buf = io.BytesIO()
    segno.make(PAYLOAD_7, encoding="utf-8", eci=True, micro=False).save(buf, kind="png", scale=6)
    assert decode_qr_image(buf.getvalue(), backend=backend, preprocess=False) == [PAYLOAD_7]


@pytest.mark.parametrize("backend", backend_params())
def test_non_utf8_symbol_reads_as_iso_8859_1(backend: str) -> None:
    # byte mode without ECI whose bytes are not UTF-8: ISO/IEC 18004's default charset, in every backend
    buf = io.BytesIO()
    segno.make("Hàng cafe", encoding="latin-1", micro=False).save(buf, kind="png", scale=6)
    assert decode_qr_image(buf.getvalue(), backend=backend, preprocess=False) == ["Hàng cafe"]


@pytest.mark.parametrize("backend", backend_params())
def test_no_qr_gives_empty_list(backend: str) -> None:
    blank = Image.new("L", (320, 240), 200)
    assert decode_qr_image(blank, backend=backend, timeout=0.2) == []


# --- text helpers -------------------------------------------------------------------------------------


def test_text_from_bytes_is_strict() -> None:
    assert text_from_bytes("Nguyễn".encode()) == "Nguyễn"
    assert text_from_bytes(b"\xef\xbb\xbfabc") == "\ufeffabc"  # exact: the parser reports a BOM repair
    assert text_from_bytes("Hàng".encode("cp1258")) is None
    assert text_from_bytes(b"\xff\xfe") is None
    assert symbol_text(b"H\xe0ng") == "Hàng"
    assert symbol_text("Hàng".encode()) == "Hàng"


def test_repair_latin1() -> None:
    assert repair_latin1("Hàng Lê".encode().decode("latin-1")) == "Hàng Lê"
    assert repair_latin1("plain") == "plain"
    assert repair_latin1("Tu廕叩") is None  # a Big5 guess cannot be undone
    assert repair_latin1("caf\xe9") is None  # real Latin-1 text, not UTF-8 bytes


# --- several codes, order, dedupe ---------------------------------------------------------------------


def _side_by_side(*images: Image.Image, gap: int = 60) -> Image.Image:
    width = sum(i.width for i in images) + gap * (len(images) + 1)
    height = max(i.height for i in images) + 2 * gap
    canvas = Image.new("L", (width, height), 255)
    x = gap
    for img in images:
        canvas.paste(img, (x, gap))
        x += img.width + gap
    return canvas


@pytest.mark.parametrize("backend", backend_params())
def test_several_codes_reading_order_and_dedupe(backend: str) -> None:
    a, b = "https://example.com/a", PAYLOAD_7
    scene = _side_by_side(qr_pil(a), qr_pil(b), qr_pil(a))
    assert decode_qr_image(scene, backend=backend, preprocess=False) == [a, b]


def test_read_picks_the_card_among_decoys() -> None:
    decoy = "WIFI:T:WPA;S:cafe;P:secret;;"
    scene = _side_by_side(qr_pil(decoy), qr_pil(PAYLOAD_11))
    record = read_qr_image(scene)
    assert record.id_number == PAYLOAD_11.split("|")[0]
    assert record.field_count == 11


def test_read_without_card_payload() -> None:
    with pytest.raises(QRNotFoundError, match="none holds"):
        read_qr_image(qr_png("just a menu"), timeout=0.2)
    with pytest.raises(QRNotFoundError, match="no QR code"):
        read_qr_image(Image.new("L", (200, 200), 255), timeout=0.2)


def test_not_found_errors_never_quote_the_payload() -> None:
    with pytest.raises(QRNotFoundError) as info:
        read_qr_image(qr_png("079090001001|x|Nguyễn Văn A"), timeout=0.2)
    assert "079090001001" not in str(info.value) and "Nguyễn" not in str(info.value)


# --- sources ------------------------------------------------------------------------------------------


def _sources(tmp_path: Path) -> dict[str, object]:
    png = qr_png(PAYLOAD_DEPS)
    pil = Image.open(io.BytesIO(png)).convert("RGB")
    path = tmp_path / "code.png"
    path.write_bytes(png)
    jpeg = io.BytesIO()
    pil.save(jpeg, format="JPEG", quality=90)
    rgba = pil.convert("RGBA")
    transparent = Image.new("RGBA", pil.size, (0, 0, 0, 0))
    transparent.paste(rgba, (0, 0), Image.eval(pil.convert("L"), lambda v: 255 - v))  # dark modules only
    grey = np.asarray(pil.convert("L"))
    return {
        "str path": str(path),
        "Path": path,
        "bytes": png,
        "bytearray": bytearray(png),
        "memoryview": memoryview(png),
        "jpeg bytes": jpeg.getvalue(),
        "PIL RGB": pil,
        "PIL L": pil.convert("L"),
        "PIL 1": pil.convert("1"),
        "PIL P": pil.convert("P"),
        "PIL RGBA transparent": transparent,
        "PIL I;16": Image.fromarray(grey.astype(np.uint16) * 257),
        "numpy grey": grey,
        "numpy HxWx1": grey[:, :, None],
        "numpy RGB": np.asarray(pil),
        "numpy RGBA": np.asarray(rgba),
        "numpy bool": grey > 128,
        "numpy uint16": grey.astype(np.uint16) * 257,
        "numpy float01": grey.astype(np.float32) / 255.0,
        "numpy non-contiguous": np.asarray(pil).copy()[::-1, :, :][::-1, :, :],
    }


@pytest.mark.parametrize("kind", [
    "str path", "Path", "bytes", "bytearray", "memoryview", "jpeg bytes", "PIL RGB", "PIL L", "PIL 1",
    "PIL P", "PIL RGBA transparent", "PIL I;16", "numpy grey", "numpy HxWx1", "numpy RGB", "numpy RGBA",
    "numpy bool", "numpy uint16", "numpy float01", "numpy non-contiguous"])
def test_source_kinds(kind: str, tmp_path: Path) -> None:
    source = _sources(tmp_path)[kind]
    assert decode_qr_image(source, backend="zxing", preprocess=False) == [PAYLOAD_DEPS]


def test_transparent_background_is_white() -> None:
    # dark modules on a fully transparent canvas: composited on black it would be all dark
    pil = qr_pil(PAYLOAD_7)
    rgba = Image.new("RGBA", pil.size, (0, 0, 0, 0))
    rgba.paste(Image.new("RGBA", pil.size, (0, 0, 0, 255)), (0, 0), Image.eval(pil, lambda v: 255 - v))
    assert load_image(rgba).getpixel((2, 2)) == 255


def test_exif_orientation_is_applied() -> None:
    pil = qr_pil(PAYLOAD_7).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(buf.getvalue())
    assert loaded.size == pil.size[::-1]
    assert decode_qr_image(buf.getvalue(), preprocess=False) == [PAYLOAD_7]


# --- errors -------------------------------------------------------------------------------------------


def _png_with_size(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + struct.pack(">I", 0) + b"IEND"
            + struct.pack(">I", zlib.crc32(b"IEND")))


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n",
                                  b"\xff\xd8\xff\xe0" + b"\0" * 20, b"GIF89a"])
def test_not_an_image(data: bytes) -> None:
    with pytest.raises(QRImageError):
        decode_qr_image(data)


def test_truncated_files() -> None:
    png = qr_png(PAYLOAD_7)
    buf = io.BytesIO()
    qr_pil(PAYLOAD_7).save(buf, format="JPEG")
    for data in (png[: len(png) // 2], buf.getvalue()[: len(buf.getvalue()) // 3]):
        with pytest.raises(QRImageError):
            decode_qr_image(data)


@pytest.mark.parametrize("size", [(10_000, 10_000), (60_001, 1_000), (2**31 - 1, 2**31 - 1)])
def test_huge_dimensions_refused_from_the_header(size: tuple[int, int]) -> None:
    with pytest.raises(QRImageError, match="too large"):
        decode_qr_image(_png_with_size(*size))


def test_huge_array_refused_before_copying() -> None:
    view = np.broadcast_to(np.uint8(255), (8_000, 8_000))  # 64 MP, no memory behind it
    with pytest.raises(QRImageError, match="too large"):
        decode_qr_image(view)


def test_limit_is_pixels_not_sides() -> None:
    assert qrimage.MAX_PIXELS == 60_000_000
    assert decode_qr_image(Image.new("L", (30_000, 20), 255), timeout=0) == []


@pytest.mark.parametrize("bad", [np.zeros((0, 5), np.uint8), np.zeros((4, 4, 2), np.uint8),
                                 np.zeros((2, 2, 2, 2), np.uint8), np.array(["a", "b"]),
                                 np.zeros((4, 4), np.complex64)])
def test_bad_arrays(bad: object) -> None:
    with pytest.raises(QRImageError):
        decode_qr_image(bad)


def test_missing_file_and_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(QRImageError):
        decode_qr_image(tmp_path / "nope.png")
    with pytest.raises(QRImageError):
        decode_qr_image(tmp_path)  # a folder
    with pytest.raises(QRImageError, match="unsupported image source"):
        decode_qr_image(12345)
    with pytest.raises(QRImageError):
        decode_qr_image("card\0.png")


def test_unknown_backend_is_an_input_error() -> None:
    with pytest.raises(InputError):
        decode_qr_image(qr_png("x"), backend="tesseract")


def test_missing_backend_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise ImportError("No module named 'pyzbar'")

    monkeypatch.setitem(qrbackends._FACTORIES, "zbar", missing)
    monkeypatch.setattr(qrbackends, "_CACHE", {})
    monkeypatch.setattr(qrbackends, "_MISSING", {})
    with pytest.raises(QRBackendUnavailable, match="pyzbar"):
        decode_qr_image(qr_png("x"), backend="zbar")
    assert "zbar" not in qrbackends.available_backends()
    # auto carries on with what is installed
    assert decode_qr_image(qr_png(PAYLOAD_7)) == [PAYLOAD_7]


def test_a_crashing_backend_is_a_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        name = "zxing"

        def decode(self, image: Image.Image) -> list[str]:
            raise RuntimeError("decoder bug")

    monkeypatch.setitem(qrbackends._CACHE, "zxing", Broken())
    assert decode_qr_image(qr_png(PAYLOAD_7), backend="zxing", timeout=0.1) == []
    # auto still reaches the other backends
    assert decode_qr_image(qr_png(PAYLOAD_7)) == [PAYLOAD_7]


def test_errors_are_library_errors() -> None:
    assert issubclass(QRImageError, CCCDError) and issubclass(QRNotFoundError, CCCDError)


# --- the cascade --------------------------------------------------------------------------------------


def _tiny_blurred() -> Image.Image:
    """A 1.4 px/module code, slightly blurred: too small for one pass, readable after upscaling."""
    big = qr_pil(PAYLOAD_DEPS, scale=7, border=4)
    small = big.resize((round(big.width / 5), round(big.height / 5)), Image.Resampling.BOX)
    canvas = Image.new("L", (small.width * 3, small.height * 3), 230)
    canvas.paste(small, (small.width, small.height))
    return canvas


def test_cascade_rescues_what_one_pass_misses() -> None:
    image = _tiny_blurred()
    assert decode_qr_image(image, preprocess=False) == []
    texts, step = qrimage.run_cascade(load_image(image), timeout=None)
    assert texts == [PAYLOAD_DEPS]
    assert step is not None and ":" in step  # found by a preprocessing variant, not the first pass


def test_cascade_timeout_zero_runs_only_the_first_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = qrpre.variants

    def counting(image: Image.Image, **options):  # type: ignore[no-untyped-def]
        for name, make in real(image, **options):
            built.append(name)
            yield name, make

    monkeypatch.setattr(qrpre, "variants", counting)
    assert decode_qr_image(_tiny_blurred(), timeout=0) == []
    assert built == [] or len(built) <= 1  # the deadline is checked before any variant is decoded
    built.clear()
    decode_qr_image(Image.new("L", (64, 64), 255), timeout=None)
    assert len(built) > 5  # unbounded: every variant is tried on an image without a code


def test_cascade_stops_at_first_success(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(image: Image.Image, **options):  # type: ignore[no-untyped-def]
        raise AssertionError("variants must not be built when the first pass succeeds")

    monkeypatch.setattr(qrpre, "variants", fail)
    assert decode_qr_image(qr_png(PAYLOAD_7)) == [PAYLOAD_7]


def test_preprocess_helpers() -> None:
    grey = Image.new("L", (100, 100), 40)
    grey.paste(200, (0, 0, 50, 100))
    t = qrpre.otsu_threshold(grey)
    assert 40 <= t < 200
    def levels(img: Image.Image) -> set[int]:
        return {v for v, n in enumerate(img.histogram()) if n}

    assert levels(qrpre.binarize_otsu(grey)) == {0, 255}
    assert levels(qrpre.binarize_adaptive(grey)) <= {0, 255}
    assert qrpre.equalize(grey).size == grey.size
    assert qrpre.otsu_threshold(Image.new("L", (1, 1), 0)) in range(256)
    names = [name for name, _ in qrpre.variants(Image.new("L", (300, 200), 255))]
    assert names[0] == "upscale-2x" and len(names) == len(set(names))


def test_preprocess_without_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qrpre, "_cv2", lambda: None)
    grey = qr_pil(PAYLOAD_7)
    for name, make in qrpre.variants(grey):
        out = make()
        assert out.mode == "L", name
    assert decode_qr_image(qrpre.binarize_adaptive(grey), backend="zxing", preprocess=False) == [PAYLOAD_7]


# --- the degraded set: never a wrong text, cascade >= every backend -----------------------------------


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[qr_dataset.Case]]:
    folder = tmp_path_factory.mktemp("qrset")
    return folder, qr_dataset.generate(folder, seed=11, per_category=2)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = qr_dataset.generate(tmp_path / "a", seed=5, per_category=1, categories=("clean", "noise"))
    b = qr_dataset.generate(tmp_path / "b", seed=5, per_category=1, categories=("clean", "noise"))
    assert a == b
    for case in a:
        assert (tmp_path / "a" / case.file).read_bytes() == (tmp_path / "b" / case.file).read_bytes()


def test_generated_payloads_are_cards(small_set: tuple[Path, list[qr_dataset.Case]]) -> None:
    from cccd_reader.qr.payload import parse_qr_payload

    _folder, cases = small_set
    assert {c.category for c in cases} == set(qr_dataset.CATEGORIES)
    for case in cases:
        record = parse_qr_payload(case.payload)
        assert record.field_count == (7 if case.generation == "cccd" else 11)
        assert not record.warnings  # synthetic IDs agree with the birth year and sex


def test_degraded_set(small_set: tuple[Path, list[qr_dataset.Case]]) -> None:
    folder, cases = small_set
    names = [n for n in BACKEND_NAMES if _backend_available(n)]
    for case in cases:
        image = load_image(folder / case.file)
        allowed = {case.payload, case.decoy}
        singles = {}
        for name in names:
            texts = decode_qr_image(image, backend=name, preprocess=False)
            assert set(texts) <= allowed, (case.file, name)
            singles[name] = case.payload in texts
        texts, _step = qrimage.run_cascade(image, accept=qrimage._is_card, timeout=None)
        assert set(texts) <= allowed, case.file
        if any(singles.values()):
            assert case.payload in texts, case.file  # the cascade includes every backend's first pass
        if case.category in ("clean", "rotation", "perspective", "shadow") and case.level == 0:
            assert case.payload in texts, case.file


# --- frames -------------------------------------------------------------------------------------------


def test_stream_stops_at_first_card() -> None:
    consumed: list[int] = []

    def frames():  # type: ignore[no-untyped-def]
        yield Image.new("L", (120, 120), 255)
        consumed.append(1)
        yield b"broken frame"
        consumed.append(2)
        yield qr_png("not a card")
        consumed.append(3)
        yield qr_png(PAYLOAD_7)
        consumed.append(4)
        raise AssertionError("read past the first card")

    record = decode_qr_stream(frames(), timeout=0.1)
    assert record.id_number == PAYLOAD_7.split("|")[0]
    assert consumed == [1, 2, 3]


def test_stream_errors() -> None:
    with pytest.raises(QRNotFoundError):
        decode_qr_stream([Image.new("L", (50, 50), 255)] * 3, timeout=0)
    with pytest.raises(QRNotFoundError):
        decode_qr_stream([])
    with pytest.raises(QRImageError):
        decode_qr_stream([b"x", b"y"])
    with pytest.raises(QRNotFoundError):
        decode_qr_stream([qr_png(PAYLOAD_7)], max_frames=0)


def test_frames_from_dir_natural_order(tmp_path: Path) -> None:
    for name in ("frame10.png", "frame2.png", "frame1.png", ".hidden.png"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in frames_from_dir(tmp_path)] == ["frame1.png", "frame2.png", "frame10.png"]
    with pytest.raises(QRImageError):
        frames_from_dir(tmp_path / "missing")


def test_frames_dir_stream(tmp_path: Path) -> None:
    (tmp_path / "001.png").write_bytes(Image.new("L", (10, 10)).tobytes())  # not an image file
    buf = io.BytesIO()
    Image.new("L", (90, 90), 255).save(buf, format="PNG")
    (tmp_path / "002.png").write_bytes(buf.getvalue())
    (tmp_path / "003.png").write_bytes(qr_png(PAYLOAD_11))
    record = decode_qr_stream(frames_from_dir(tmp_path), timeout=0.1)
    assert record.field_count == 11


def test_camera_that_cannot_open() -> None:
    if importlib.util.find_spec("cv2") is None and not IN_CI:
        pytest.skip("OpenCV not installed")
    with pytest.raises(QRImageError, match="camera"):
        list(qrimage.camera_frames(97, max_frames=1))


# --- the command line ---------------------------------------------------------------------------------


def _cli(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from cccd_reader.cli import main

    result = CliRunner().invoke(main, args, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_image_file_and_stdin() -> None:
    sample = _samples()[1]
    fields = sample["payload"].split("|")
    code, out, err = _cli(["qr", str(SAMPLES / sample["file"]), "--json"])
    assert code == 0, err
    assert json.loads(out)["id_number"] == fields[0]
    code, out, err = _cli(["qr", "-", "--json"], stdin=(SAMPLES / sample["file"]).read_bytes())
    assert code == 0, err
    assert json.loads(out)["full_name"] == fields[2]
    code, out, err = _cli(["qr", "--backend", "zbar", str(SAMPLES / sample["file"])])
    assert code == 0, err
    assert fields[2] in out


def test_cli_frames_dir(tmp_path: Path) -> None:
    (tmp_path / "frame1.png").write_bytes(b"not an image")
    buf = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buf, format="PNG")
    (tmp_path / "frame2.png").write_bytes(buf.getvalue())
    (tmp_path / "frame10.png").write_bytes(qr_png(PAYLOAD_11))
    code, out, err = _cli(["qr", "--frames", str(tmp_path), "--json"])
    assert code == 0, err
    assert json.loads(out)["field_count"] == 11


@pytest.mark.parametrize(("args", "stdin"), [
    (["qr", "-"], b"not an image"),
    (["qr", "-"], b""),
    (["qr", "--frames", "/nonexistent-folder"], None),
    (["qr", "--camera", "97"], None),
])
def test_cli_image_errors_exit_2_in_one_line(args: list[str], stdin: bytes | None) -> None:
    code, out, err = _cli(args, stdin)
    assert code == 2
    assert out == ""
    assert err.strip().splitlines()[-1].startswith("cccd-read: error: ")


def test_cli_image_without_card(tmp_path: Path) -> None:
    path = tmp_path / "menu.png"
    path.write_bytes(qr_png("https://example.com/menu"))
    code, out, err = _cli(["qr", str(path)])
    assert code == 2 and out == ""
    assert "none holds" in err


def test_cli_one_source_only(tmp_path: Path) -> None:
    code, _out, err = _cli(["qr", str(SAMPLES / "cccd-front.png"), "--text", PAYLOAD_7])
    assert code == 2
    assert "only one of" in err


class _FakeCapture:
    """Stands in for cv2.VideoCapture: BGR frames, a failed grab, and a record of release()."""

    released = False

    def __init__(self, index: int) -> None:
        rgb = np.asarray(Image.open(io.BytesIO(qr_png(PAYLOAD_7))).convert("RGB"))
        tinted = rgb.copy()
        tinted[..., 0] = 255  # a red cast in RGB: only right if BGR is converted, not reinterpreted
        self.frames: list[object] = [np.zeros((40, 40, 3), np.uint8), None, tinted[..., ::-1].copy()]

    def isOpened(self) -> bool:  # OpenCV's name
        return True

    def read(self) -> tuple[bool, object]:
        if not self.frames:
            return False, None
        frame = self.frames.pop(0)
        return frame is not None, frame

    def release(self) -> None:
        type(self).released = True


def test_camera_frames_are_rgb_and_released(monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    monkeypatch.setattr(cv2, "VideoCapture", _FakeCapture)
    _FakeCapture.released = False
    frames = list(qrimage.camera_frames(0, max_failures=3))
    assert len(frames) == 2 and _FakeCapture.released
    assert frames[1][0, 0, 0] == 255  # the red channel is first again
    _FakeCapture.released = False
    record = decode_qr_stream(qrimage.camera_frames(0, max_failures=3), timeout=0.1)
    assert record.id_number == PAYLOAD_7.split("|")[0]
    assert _FakeCapture.released  # the generator is closed when the stream stops early


def test_cli_camera(monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    monkeypatch.setattr(cv2, "VideoCapture", _FakeCapture)
    code, out, err = _cli(["qr", "--camera", "0", "--json"])
    assert code == 0, err
    assert json.loads(out)["id_number"] == PAYLOAD_7.split("|")[0]


def test_variants_of_a_large_photo_are_bounded() -> None:
    big = Image.new("L", (6000, 4000), 255)  # 24 MP
    for name, make in qrpre.variants(big):
        out = make()
        assert out.width * out.height <= qrpre.WORK_MAX_PIXELS * 1.01, name


def test_nan_timeout_is_refused() -> None:
    with pytest.raises(InputError):
        decode_qr_image(qr_png("x"), timeout=float("nan"))
    assert decode_qr_image(qr_png(PAYLOAD_7), timeout=float("inf")) == [PAYLOAD_7]


def test_zbar_without_binary_mode_keeps_only_undoable_guesses() -> None:
    """An older zbar (no binary mode): a Latin-1 guess is undone exactly, a Big5 guess is dropped."""
    if not _backend_available("zbar") and not IN_CI:
        pytest.skip("zbar not installed")
    old = qrbackends.ZBarBackend()
    old._binary = False  # what zbar < 0.23 gives
    assert old.decode(qr_pil("Hàng Lê", scale=5)) == ["Hàng Lê"]
    assert old.decode(qr_pil("Tuấn", scale=5)) == []
    assert old.decode(qr_pil("plain ASCII", scale=5)) == ["plain ASCII"]


def test_deblur_separates_modules_that_sharpening_cannot() -> None:
    """4 px modules under a Gaussian blur of σ 2.5: unreadable as is and after unsharp masking."""
    from PIL import ImageFilter

    blurred = qr_pil(PAYLOAD_DEPS, scale=4).filter(ImageFilter.GaussianBlur(2.5))
    zxing = qrbackends.get_backend("zxing")
    assert zxing.decode(blurred) == []
    assert zxing.decode(qrpre.sharpen(blurred)) == []
    assert zxing.decode(qrpre.deblur(blurred)) == [PAYLOAD_DEPS]
    assert decode_qr_image(blurred, timeout=None) == [PAYLOAD_DEPS]
