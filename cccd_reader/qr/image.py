"""QR codes from images: photos of the card, scans, camera frames.

``decode_qr_image`` returns the exact texts of the QR codes in an image; ``read_qr_image`` parses the
card's payload out of them; ``decode_qr_stream`` does the same over a sequence of frames (a camera, a
folder of frames) and stops at the first frame that yields a card.

Sources
    A file path (``str`` / ``os.PathLike``), encoded image bytes (PNG, JPEG, BMP, GIF, TIFF, WebP, PPM),
    a Pillow image, or a numpy array. **Numpy arrays are taken as greyscale (H×W or H×W×1), RGB (H×W×3) or
    RGBA (H×W×4)**, never BGR: convert OpenCV frames with ``cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)`` (or to
    grey) first. Transparent pixels are composited onto white, since a QR is dark on light.

Limits
    Images over :data:`MAX_PIXELS` (60 megapixels), or whose decoded pixels would take more than
    :data:`MAX_DECODED_BYTES`, are refused from their header, before any pixel is decoded, so a forged
    header or a tiny file of a huge flat image cannot make the library allocate gigabytes. Large JPEGs
    are decoded straight to greyscale at a reduced scale; every image is reduced to at most
    :data:`WORK_MAX_PIXELS` (16 megapixels) when loaded. Anything that is not a readable image of a
    supported format raises :class:`QRImageError`.

The cascade (``preprocess=True``)
    1. the preferred backend (zxing-cpp when installed) on the image as given;
    2. with ``backend="auto"`` and no zxing-cpp, the other installed backends on the image as given;
    3. the variants of :func:`cccd_reader.qr.preprocess.variants` (upscale, Otsu and adaptive thresholds,
       CLAHE / equalisation, sharpening, median filter, downscale, morphology, deblurring, a 45° turn,
       crops), each decoded by the preferred backend.

    It stops at the first step that finds a QR (for ``read_qr_image``: a CCCD payload). Step 1 always
    runs; before every later step the deadline, ``timeout`` seconds after the call began (loading the
    image counts), is checked, so a call overruns its timeout by at most one step: one backend pass over
    at most 16 megapixels, or building one variant of at most that size and one decoder pass over it
    (tens of milliseconds for a phone photo on a 2-core machine, a few hundred for a 16-megapixel
    image). ``timeout=None`` removes the bound.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import time
import warnings
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Union

from PIL import Image, ImageOps

from cccd_reader.errors import InputError, QRBackendUnavailable, QRImageError, QRNotFoundError
from cccd_reader.qr import preprocess as _pre
from cccd_reader.qr.backends import BACKEND_NAMES, Backend, available_backends, get_backend

if TYPE_CHECKING:
    from cccd_reader.qr.payload import QRData

log = logging.getLogger(__name__)

MAX_PIXELS = 60_000_000
"""Largest image accepted (width × height). A 200-megapixel phone photo must be downscaled first."""

MAX_DECODED_BYTES = 160 * 1024 * 1024
"""Largest decoded image accepted, estimated from the header before any pixel is decoded: width × height
× bytes per pixel of its mode (× 5 for WebP, whose decoder holds several full-size RGBA buffers). The
pixel limit alone let a 60-megapixel RGBA PNG of a few hundred KB allocate over a gigabyte. Large JPEGs
are decoded at a reduced scale instead (below), so this bounds the other formats; with it, loading and
decoding any accepted file stays under ~400 MB of process memory."""

_FORMAT_OVERHEAD = {"WEBP": 5}

WORK_MAX_PIXELS = _pre.WORK_MAX_PIXELS
"""Images above this (16 megapixels) are reduced to it when loaded, JPEGs already by their decoder: no
decoder pass and no variant ever works on more, which bounds both memory and the time of one step."""

DEFAULT_TIMEOUT = 2.0
"""Seconds the preprocessing cascade may spend on one image (see the module docstring)."""

ImageSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Image.Image, Any]
"""A path, encoded bytes, a Pillow image or a numpy array (grey / RGB / RGBA)."""

_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF", "TIFF", "WEBP", "PPM")


# --- loading ------------------------------------------------------------------------------------------


def load_image(source: ImageSource) -> Image.Image:
    """Load ``source`` as an 8-bit greyscale Pillow image of at most :data:`WORK_MAX_PIXELS`, or raise
    :class:`QRImageError`."""
    if isinstance(source, Image.Image):
        return _to_grey(_reduced(_checked(source)))
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data:
            raise QRImageError("the image data is empty")
        return _open(io.BytesIO(data))
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            handle = path.open("rb")
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise QRImageError(f"cannot open the image file: {reason}") from exc
        with handle:
            return _open(handle)
    if _is_ndarray(source):
        return _from_array(source)
    raise QRImageError(
        f"unsupported image source type {type(source).__name__}: give a path, bytes, a Pillow image "
        "or a numpy array"
    )


def _open(stream: IO[bytes]) -> Image.Image:
    Image.init()  # every plugin registered, so the list below is what this Pillow can open
    # Pillow 13 folded MPO into its JPEG plugin: a name it does not know makes open() raise KeyError
    # for every format after it, so only registered names are passed
    formats = [name for name in _FORMATS if name in Image.OPEN]
    try:
        with warnings.catch_warnings():  # our own, lower limit is checked right below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened: Image.Image = Image.open(stream, formats=formats)
    except Image.DecompressionBombError as exc:
        raise QRImageError(f"the image is too large (limit {MAX_PIXELS:,} pixels)") from exc
    except Exception as exc:  # Pillow raises UnidentifiedImageError, but plugins also raise others
        raise QRImageError("not a readable image (supported: PNG, JPEG, BMP, GIF, TIFF, WebP, PPM)") from exc
    try:
        _checked(opened)  # from the header, before any pixel is decoded
        _draft(opened)
        _check_decoded_size(opened)
        opened.load()
        if opened.getexif().get(_EXIF_ORIENTATION, 1) != 1:  # exif_transpose copies even when upright
            opened = ImageOps.exif_transpose(opened) or opened
        return _to_grey(_reduced(opened))
    except QRImageError:
        raise
    except Exception as exc:  # truncated data, corrupt chunks, decoder errors, out of memory
        raise QRImageError(f"the image data is corrupt or truncated ({type(exc).__name__})") from exc


def _checked(image: Image.Image) -> Image.Image:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise QRImageError("the image has no pixels")
    if width * height > MAX_PIXELS:
        raise QRImageError(
            f"the image is too large ({width}x{height}); the limit is {MAX_PIXELS:,} pixels: downscale it"
        )
    return image


_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "PA": 2, "I;16": 2, "I;16L": 2, "I;16B": 2,
                    "I;16N": 2, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3}
"""Pillow's in-memory bytes per pixel by mode ("1" takes a byte per pixel); other modes take 4."""


_EXIF_ORIENTATION = 0x0112


def _draft(image: Image.Image) -> None:
    """Let a large JPEG decode straight to greyscale at 1/2, 1/4 or 1/8 scale (at most WORK_MAX_PIXELS
    where it can): the decoder never allocates the full-size colour image."""
    width, height = image.size
    if width * height <= WORK_MAX_PIXELS or image.format not in ("JPEG", "MPO"):
        return
    scale = math.sqrt(WORK_MAX_PIXELS / (width * height))
    try:
        image.draft("L", (max(1, int(width * scale)), max(1, int(height * scale))))
    except Exception:  # a JPEG mode draft cannot convert (CMYK): decoded as it is, size-checked below
        log.debug("JPEG draft mode refused")


def _check_decoded_size(image: Image.Image) -> None:
    width, height = image.size
    per_pixel = _BYTES_PER_PIXEL.get(image.mode, 4) * _FORMAT_OVERHEAD.get(image.format or "", 1)
    needed = width * height * per_pixel
    if needed > MAX_DECODED_BYTES:
        raise QRImageError(
            f"the image is too large to decode ({width}x{height} {image.mode}: ~{needed // 2**20} MiB; "
            f"the limit is {MAX_DECODED_BYTES // 2**20} MiB): downscale it or save it as JPEG"
        )


def _reduced(image: Image.Image) -> Image.Image:
    """``image`` reduced by a whole factor (box average) to at most WORK_MAX_PIXELS.

    Reduced before any conversion where Pillow can (the copy is then a fraction of the image); bilevel
    and palette images, which it cannot reduce, are first converted to one byte a pixel (two with
    transparency), never to RGB(A).
    """
    width, height = image.size
    if width * height <= WORK_MAX_PIXELS:
        return image
    factor = math.ceil(math.sqrt(width * height / WORK_MAX_PIXELS))
    while (width // factor) * (height // factor) > WORK_MAX_PIXELS:
        factor += 1
    try:
        if image.mode == "P":
            image = _flatten_palette(image).convert("L")
        elif image.mode in ("1", "PA"):
            image = image.convert("LA" if image.mode == "PA" else "L")
        try:
            return image.reduce(factor)
        except ValueError:  # a mode reduce() does not take (16-bit grey)
            return image.resize((width // factor, height // factor), Image.Resampling.BOX)
    except QRImageError:
        raise
    except Exception as exc:
        raise QRImageError(f"cannot reduce the image (mode {image.mode!r})") from exc


def _flatten_palette(image: Image.Image) -> Image.Image:
    """A palette image with transparency as one without: each palette colour composited onto white.

    The same result as compositing the RGBA image, at one byte a pixel instead of four (converting a
    transparent palette image to grey with alpha goes through RGBA inside Pillow).
    """
    transparency = image.info.get("transparency")
    if transparency is None:
        return image
    palette = image.getpalette("RGB") or []
    alphas = [255] * (len(palette) // 3)
    if isinstance(transparency, int) and 0 <= transparency < len(alphas):
        alphas[transparency] = 0
    elif isinstance(transparency, bytes | bytearray):
        for index, alpha in enumerate(bytes(transparency)[: len(alphas)]):
            alphas[index] = alpha
    flat = [round(c * alphas[i // 3] / 255 + 255 * (1 - alphas[i // 3] / 255)) for i, c in enumerate(palette)]
    out = image.copy()
    out.putpalette(flat, "RGB")
    out.info.pop("transparency", None)
    return out


def _to_grey(image: Image.Image) -> Image.Image:
    try:
        mode = image.mode
        if mode == "L":
            return image
        if mode == "P":
            return _flatten_palette(image).convert("L")
        if mode in ("I", "F") or mode.startswith("I;16"):
            image = image.convert("F") if mode == "F" else image.convert("I")
            extrema: Any = image.getextrema()
            high = float(extrema[1])
            scale = 255.0 / high if high > 255 else (255.0 if high <= 1.0 else 1.0)
            return image.point(lambda v: v * scale).convert("L")
        if "A" in mode or "a" in mode or (mode == "P" and "transparency" in image.info):
            # composited onto white in grey + alpha (2 bytes a pixel, not RGBA's 4, and no RGBA copies)
            grey, alpha = (image if mode == "LA" else image.convert("LA")).split()
            return Image.composite(grey, Image.new("L", image.size, 255), alpha)
        return image.convert("L")
    except QRImageError:
        raise
    except Exception as exc:
        raise QRImageError(f"cannot convert the image (mode {image.mode!r}) to greyscale") from exc


def _is_ndarray(value: object) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "shape") and hasattr(value, "dtype")


def _from_array(array: Any) -> Image.Image:
    import numpy as np

    shape = tuple(array.shape)
    if len(shape) == 3 and shape[2] == 1:
        array = array[:, :, 0]
        shape = shape[:2]
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (3, 4)):
        raise QRImageError(
            f"unsupported array shape {shape}: expected HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA)"
        )
    height, width = shape[0], shape[1]
    if height <= 0 or width <= 0:
        raise QRImageError("the image has no pixels")
    if height * width > MAX_PIXELS:
        raise QRImageError(f"the image is too large ({width}x{height}); the limit is {MAX_PIXELS:,} pixels")
    kind = array.dtype.kind
    try:
        if kind == "b":
            array = array.astype(np.uint8) * 255
        elif kind in "iu" and array.dtype != np.uint8:
            high = int(array.max())
            array = (array.astype(np.float64) * (255.0 / high)) if high > 255 else array
            array = np.clip(array, 0, 255).astype(np.uint8)
        elif kind == "f":
            finite = np.nan_to_num(array.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
            if finite.size and float(finite.max()) <= 1.0:
                finite = finite * 255.0
            array = np.clip(finite, 0, 255).astype(np.uint8)
        elif kind != "u":
            raise QRImageError(f"unsupported array dtype {array.dtype}")
        array = np.ascontiguousarray(array)
        mode = {2: "L", 3: "RGB", 4: "RGBA"}[len(shape) if len(shape) == 2 else shape[2]]
        made = Image.fromarray(array, mode=mode) if mode != "L" else Image.fromarray(array)
        return _to_grey(_reduced(made))
    except QRImageError:
        raise
    except Exception as exc:
        raise QRImageError(f"cannot use the array as an image ({type(exc).__name__})") from exc


# --- the cascade --------------------------------------------------------------------------------------


def _backends_for(backend: str) -> tuple[Backend, list[Backend], bool]:
    """(preferred backend, other backends, whether to try the others on the unprocessed image).

    With zxing-cpp installed the others add nothing the variants do not also find (on the degraded set:
    one image, which the Otsu variant recovers too) and cost ~45 ms on every image with no QR code, so
    they are tried on every image only when zxing-cpp is missing and a weaker decoder leads; otherwise
    only when zxing-cpp failed on the image (raised instead of answering).
    """
    if backend == "auto":
        names = available_backends()
        if not names:
            raise QRBackendUnavailable(
                "no QR backend is installed: install zxing-cpp (pip install 'cccd-reader[qr]')"
            )
        loaded = [get_backend(name) for name in names]
        return loaded[0], loaded[1:], loaded[0].name != "zxing"
    return get_backend(backend), [], False


def _safe_decode(backend: Backend, image: Image.Image, failed: list[str] | None = None) -> list[str]:
    try:
        return backend.decode(image)
    except Exception as exc:  # a decoder choking on odd input is a miss, not the caller's error
        log.debug("QR backend %s failed: %s", backend.name, type(exc).__name__)
        if failed is not None:
            failed.append(backend.name)
        return []


def run_cascade(
    image: Image.Image,
    *,
    backend: str = "auto",
    preprocess: bool = True,
    timeout: float | None = DEFAULT_TIMEOUT,
    accept: Callable[[list[str]], bool] = bool,
    started: float | None = None,
) -> tuple[list[str], str | None]:
    """Decode a greyscale image; return (texts, name of the step that found them or ``None``).

    ``accept`` decides whether a step's texts end the search (``read_qr_image`` asks for a CCCD
    payload, so a decoy QR elsewhere in the photo does not stop it). When no step is accepted, the texts
    found by any step are returned with step ``None``. ``started`` (a ``time.monotonic()`` value, default
    now) is when the timeout began: the public functions pass the time before loading the image, so
    loading counts against it.
    """
    _check_timeout(timeout)
    primary, others, others_always = _backends_for(backend)
    begin = time.monotonic() if started is None else started
    deadline = None if timeout is None or math.isinf(timeout) else begin + max(0.0, timeout)
    seen: list[str] = []
    failed: list[str] = []

    def step(name: str, decoder: Backend, make: Callable[[], Image.Image]) -> bool:
        try:
            candidate = make()
        except Exception as exc:  # a variant that cannot be built on this image is skipped
            log.debug("QR preprocessing step %s failed: %s", name, type(exc).__name__)
            return False
        texts = _safe_decode(decoder, candidate, failed)
        for text in texts:
            if text not in seen:
                seen.append(text)
        return bool(texts) and accept(texts)

    def expired() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    if step(primary.name, primary, lambda: image):
        return _dedupe(seen), primary.name
    for other in others if others_always or primary.name in failed else ():
        if expired():
            return _dedupe(seen), None
        if step(other.name, other, lambda: image):
            return _dedupe(seen), other.name
    if preprocess:
        # zxing-cpp finds codes at any angle (the degraded set's rotations up to 178° all decode in its
        # first pass), so the 45° turn is only for the other decoders
        for name, make in _pre.variants(image, turn=primary.name != "zxing"):
            if expired():
                log.debug("QR cascade stopped at its deadline before step %s", name)
                break
            if step(f"{primary.name}:{name}", primary, make):
                return _dedupe(seen), f"{primary.name}:{name}"
    return _dedupe(seen), None


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and (not isinstance(timeout, int | float) or math.isnan(timeout)):
        raise InputError("timeout must be a number of seconds or None")


def _dedupe(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _check_backend_name(backend: str) -> None:
    if backend != "auto" and backend not in BACKEND_NAMES:
        raise InputError(f"unknown QR backend {backend!r}; choose one of auto, {', '.join(BACKEND_NAMES)}")


def decode_qr_image(
    source: ImageSource,
    *,
    backend: str = "auto",
    preprocess: bool = True,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> list[str]:
    """Every QR text found in ``source``: exact (UTF-8, never guessed), deduplicated, in reading order.

    ``backend`` is ``"auto"`` (the best installed, then the others), ``"zxing"``, ``"zbar"`` or
    ``"opencv"``; a named backend that is not installed raises :class:`QRBackendUnavailable`. An image
    with no QR gives ``[]``. See the module docstring for the sources accepted and the cascade's bound.
    """
    _check_backend_name(backend)
    _check_timeout(timeout)
    started = time.monotonic()
    image = load_image(source)
    texts, _step = run_cascade(image, backend=backend, preprocess=preprocess, timeout=timeout,
                               started=started)
    return texts


def _first_payload(texts: Iterable[str]) -> QRData | None:
    from cccd_reader.qr.payload import parse_qr_payload

    for text in texts:
        try:
            return parse_qr_payload(text)
        except InputError:  # QRPayloadError, or a stricter field check of the parser
            continue
    return None


def _is_card(texts: list[str]) -> bool:
    return _first_payload(texts) is not None


def read_qr_image(
    source: ImageSource,
    *,
    backend: str = "auto",
    preprocess: bool = True,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> QRData:
    """The card's QR payload, parsed; :class:`QRNotFoundError` when the image holds no CCCD payload.

    With several QR codes in the photo, the first (in reading order) that parses as a CCCD payload wins.
    """
    _check_backend_name(backend)
    _check_timeout(timeout)
    started = time.monotonic()
    image = load_image(source)
    texts, _step = run_cascade(image, backend=backend, preprocess=preprocess, timeout=timeout,
                               accept=_is_card, started=started)
    data = _first_payload(texts)
    if data is not None:
        return data
    if texts:
        raise QRNotFoundError(
            f"{len(texts)} QR code(s) found, but none holds a CCCD / Căn cước payload"
        )
    raise QRNotFoundError("no QR code found in the image: retake the photo closer, sharper and evenly lit")


# --- frames -------------------------------------------------------------------------------------------


def decode_qr_stream(
    frames: Iterable[ImageSource],
    *,
    backend: str = "auto",
    preprocess: bool = True,
    timeout: float | None = 0.5,
    max_frames: int | None = None,
) -> QRData:
    """The card's payload from the first frame that yields one; later frames are not read.

    Frames that are not readable images are skipped (a camera may deliver a broken frame; a folder may
    hold other files). ``timeout`` bounds the cascade per frame (shorter than for a single photo: the
    next frame is another chance). Raises :class:`QRNotFoundError` when the frames run out (or
    ``max_frames`` were tried) without a payload, and :class:`QRImageError` if no frame was an image.
    """
    _check_backend_name(backend)
    tried = unreadable = 0
    qr_seen = False
    for frame in frames:
        if max_frames is not None and tried >= max_frames:
            break
        tried += 1
        started = time.monotonic()
        try:
            image = load_image(frame)
        except QRImageError:
            unreadable += 1
            continue
        texts, _step = run_cascade(image, backend=backend, preprocess=preprocess, timeout=timeout,
                                   accept=_is_card, started=started)
        qr_seen = qr_seen or bool(texts)
        data = _first_payload(texts)
        if data is not None:
            return data
    if tried and unreadable == tried:
        raise QRImageError(f"none of the {tried} frame(s) could be read as an image")
    if tried == 0:
        raise QRNotFoundError("no frames to read")
    what = "QR codes were seen but none holds a CCCD payload" if qr_seen else "no QR code was found"
    raise QRNotFoundError(f"{what} in {tried} frame(s)")


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def frames_from_dir(directory: str | os.PathLike[str]) -> list[Path]:
    """Files of ``directory`` in natural name order (``frame2`` before ``frame10``), except hidden ones."""
    folder = Path(directory)
    if not folder.is_dir():
        raise QRImageError("the frames folder does not exist or is not a folder")
    files = (p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return sorted(files, key=_natural_key)


def camera_frames(
    index: int = 0, *, max_frames: int | None = None, max_failures: int = 30
) -> Generator[Any, None, None]:
    """Frames from camera ``index`` as RGB numpy arrays, through OpenCV; the camera is released on exit.

    Raises :class:`QRBackendUnavailable` without OpenCV and :class:`QRImageError` if the camera cannot be
    opened. Stops after ``max_frames`` frames or ``max_failures`` failed grabs in a row.
    """
    try:
        import cv2
    except ImportError as exc:
        raise QRBackendUnavailable("reading a camera needs opencv-python-headless") from exc
    capture = cv2.VideoCapture(index)
    try:
        if not capture.isOpened():
            raise QRImageError(f"camera {index} could not be opened")
        count = failures = 0
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok or frame is None:
                failures += 1
                if failures >= max_failures:
                    return
                time.sleep(0.01)
                continue
            failures = 0
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
