"""QR images: memory bounds on decoding (image bombs under the pixel limit) and the formats Pillow opens.

A few-KB PNG of a flat 60-megapixel image passes the pixel limit; what bounds memory is the decoded
size, checked from the header, and the reduction of every image to 16 megapixels when it is loaded.
Peak memory is measured in a fresh subprocess (its own high-water mark, ``VmHWM``; ``ru_maxrss``
where /proc is missing), so one test's allocations do not hide another's. Times are in benchmarks/, not here.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import segno
from PIL import Image

from cccd_reader import QRImageError, decode_qr_image
from cccd_reader.qr import image as qrimage
from cccd_reader.qr import preprocess as qrpre

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MB = 400
SIDE = 7745  # 59.98 megapixels: just under MAX_PIXELS

PAYLOAD = ("001099012345|187654321|Nguyễn Văn An|01011990|Nam|Số 1 Phố Huế, Phường Hàng Bài, "
           "Quận Hoàn Kiếm, Hà Nội|15082021")


def _peak_in_subprocess(path: Path, backend: str = "auto") -> dict[str, object]:
    """Decode ``path`` in a new interpreter; its texts (or error) and its peak resident memory in MB."""
    script = textwrap.dedent(f"""
        import json, resource
        from cccd_reader import decode_qr_image, QRImageError
        try:
            out = {{"texts": decode_qr_image({str(path)!r}, backend={backend!r})}}
        except QRImageError as exc:
            out = {{"error": str(exc)}}
        try:  # this process's own peak: ru_maxrss also keeps the parent's peak across fork + exec
            with open("/proc/self/status") as status:
                hwm = next(line for line in status if line.startswith("VmHWM:"))
            out["peak_mb"] = int(hwm.split()[1]) / 1024
        except (OSError, StopIteration):
            out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    files = {}
    one_bit = folder / "one-bit.png"
    Image.new("1", (SIDE, SIDE), 1).save(one_bit, optimize=True)
    files["one-bit"] = one_bit
    white = folder / "white.png"
    Image.new("L", (SIDE, SIDE), 255).save(white)
    files["white"] = white
    palette = folder / "palette-transparent.png"
    Image.new("P", (SIDE, SIDE), 0).save(palette, transparency=0)
    files["palette-transparent"] = palette
    rgba = folder / "rgba.png"
    Image.new("RGBA", (SIDE, SIDE), (255, 255, 255, 0)).save(rgba)
    files["rgba"] = rgba
    return files


@pytest.mark.parametrize("name", ["one-bit", "white", "palette-transparent"])
def test_flat_images_under_the_pixel_limit_decode_in_bounded_memory(bombs: dict[str, Path],
                                                                    name: str) -> None:
    assert bombs[name].stat().st_size < 400_000  # a small file ...
    result = _peak_in_subprocess(bombs[name])
    assert result.get("texts") == []  # ... of a huge image with nothing in it: an answer, not a crash
    assert float(result["peak_mb"]) < LIMIT_MB  # type: ignore[arg-type]


def test_an_image_too_wide_to_decode_is_refused_from_its_header(bombs: dict[str, Path]) -> None:
    result = _peak_in_subprocess(bombs["rgba"])
    assert "too large to decode" in str(result.get("error"))
    assert float(result["peak_mb"]) < 150  # type: ignore[arg-type]  # refused before decoding
    with pytest.raises(QRImageError, match="too large to decode"):
        qrimage.load_image(bombs["rgba"])


@pytest.mark.parametrize("backend", ["zbar", "opencv"])
def test_every_backend_stays_bounded(bombs: dict[str, Path], backend: str) -> None:
    result = _peak_in_subprocess(bombs["one-bit"], backend)
    assert result.get("texts") == []
    assert float(result["peak_mb"]) < LIMIT_MB  # type: ignore[arg-type]


def test_decoded_size_accounts_for_the_mode() -> None:
    # same pixel count, four times the bytes: the grey image loads, the RGBA one is refused
    side = int((qrimage.MAX_DECODED_BYTES / 4) ** 0.5) + 64
    assert side * side <= qrimage.MAX_PIXELS
    grey, rgba = io.BytesIO(), io.BytesIO()
    Image.new("L", (side, side), 255).save(grey, format="PNG")
    Image.new("RGBA", (side, side), (255, 255, 255, 255)).save(rgba, format="PNG")
    loaded = qrimage.load_image(grey.getvalue())
    assert loaded.width * loaded.height <= qrimage.WORK_MAX_PIXELS
    with pytest.raises(QRImageError, match="too large to decode"):
        qrimage.load_image(rgba.getvalue())


def _qr_on_canvas(size: tuple[int, int], scale: int, mode: str = "L") -> Image.Image:
    buffer = io.BytesIO()
    segno.make(PAYLOAD, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    canvas = Image.new("L", size, 255)
    canvas.paste(code, (size[0] // 3, size[1] // 3))
    return canvas.convert(mode)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_large_photo_is_reduced_and_its_code_still_read(fmt: str) -> None:
    big = _qr_on_canvas((8000, 5000), scale=12, mode="RGB")  # 40 MP, 12 px a module
    data = io.BytesIO()
    big.save(data, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    loaded = qrimage.load_image(data.getvalue())
    assert loaded.mode == "L"
    assert loaded.width * loaded.height <= qrimage.WORK_MAX_PIXELS
    assert decode_qr_image(data.getvalue(), timeout=None) == [PAYLOAD]


def test_transparent_palette_is_composited_on_white_like_rgba() -> None:
    code = _qr_on_canvas((400, 400), scale=4)
    # dark modules opaque black (index 1), the rest fully transparent (index 0, drawn red underneath)
    palette_image = Image.new("P", code.size, 0)
    palette_image.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)
    palette_image.paste(1, mask=code.point(lambda v: 255 if v < 128 else 0))
    data = io.BytesIO()
    palette_image.save(data, format="PNG", transparency=0)
    via_palette = qrimage.load_image(data.getvalue())
    palette_image.info["transparency"] = 0
    via_rgba = qrimage.load_image(palette_image.convert("RGBA"))
    assert via_palette.tobytes() == via_rgba.tobytes()
    assert via_palette.getpixel((0, 0)) == 255  # transparent red shows as white, not as red's grey
    assert decode_qr_image(data.getvalue()) == [PAYLOAD]


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "TIFF", "WEBP", "PPM", "PNG", "JPEG"])
def test_every_listed_format_opens(fmt: str) -> None:
    code = _qr_on_canvas((300, 300), scale=3, mode="L" if fmt != "WEBP" else "RGB")
    data = io.BytesIO()
    code.save(data, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    assert decode_qr_image(data.getvalue()) == [PAYLOAD]


def test_the_timeout_starts_before_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = qrpre.variants

    def counting(image: Image.Image, **options):  # type: ignore[no-untyped-def]
        for name, make in real(image, **options):
            built.append(name)
            yield name, make

    monkeypatch.setattr(qrpre, "variants", counting)
    blank = qrimage.load_image(Image.new("L", (200, 200), 255))
    # a call whose loading already used up its time: only the first pass runs
    texts, step = qrimage.run_cascade(blank, timeout=1.0, started=qrimage.time.monotonic() - 5.0)
    assert (texts, step) == ([], None)
    assert len(built) <= 1
    built.clear()
    qrimage.run_cascade(blank, timeout=60.0, started=qrimage.time.monotonic())
    assert len(built) > 5


def test_the_turn_is_left_out_only_on_request() -> None:
    image = Image.new("L", (300, 200), 255)
    names = [name for name, _ in qrpre.variants(image)]
    assert "rotate-45" in names
    assert [name for name, _ in qrpre.variants(image, turn=False)] == [n for n in names if n != "rotate-45"]
    # the equalised image is built once for both variants that use it
    made = dict(qrpre.variants(image))
    assert made["equalize+otsu"]().tobytes() == qrpre.binarize_otsu(made["equalize"]()).tobytes()


def test_opencv_variants_match_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OpenCV paths compute the same operations as the Pillow ones (within rounding at edges)."""
    import numpy as np

    code = _qr_on_canvas((240, 180), scale=2)
    fast = {name: fn(code) for name, fn in (("median", qrpre.median3), ("dilate", qrpre.dilate3),
                                            ("erode", qrpre.erode3), ("sharpen", qrpre.sharpen))}
    monkeypatch.setattr(qrpre, "_cv2", lambda: None)
    slow = {name: fn(code) for name, fn in (("median", qrpre.median3), ("dilate", qrpre.dilate3),
                                            ("erode", qrpre.erode3), ("sharpen", qrpre.sharpen))}
    for name in fast:
        a = np.asarray(fast[name], dtype=np.int16)[2:-2, 2:-2]
        b = np.asarray(slow[name], dtype=np.int16)[2:-2, 2:-2]
        assert fast[name].size == slow[name].size
        assert np.abs(a - b).max() <= (0 if name != "sharpen" else 40), name
        assert np.abs(a - b).mean() < 2, name
