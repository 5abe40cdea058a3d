"""Image variants for photos the first decoding pass misses.

A phone photo of a card fails for a few recurring reasons: the 18 mm code covers too few pixels (upscale),
light is uneven (contrast equalisation, local thresholds), the photo is soft (sharpening, a global
threshold that re-hardens module edges), the sensor is noisy (median filter), or the code is a small part
of a large scene (crops of the likely regions, upscaled). Each variant answers one of those; the cascade
in :mod:`cccd_reader.qr.image` tries them in this order and stops at the first that decodes, so the cheap,
most often useful ones come first.

Everything but the deblurring step works with Pillow alone. When OpenCV is installed, CLAHE
(contrast-limited adaptive histogram equalisation) replaces Pillow's global equalisation, which
over-amplifies glare; the deblurring step (an FFT) needs numpy, which comes with OpenCV. OpenCV also
builds the other variants (resizing, unsharp mask, median, dilate, erode, the 45° turn, the FFT): the same
operations as Pillow's, 5-30x faster, which is most of what an image with no QR code costs.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable, Iterator
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageOps

Variant = tuple[str, Callable[[], Image.Image]]

UPSCALE_MAX_PIXELS = 4_000_000
"""Upscaled variants are made only up to this size (bigger images have pixels enough)."""

WORK_MAX_PIXELS = 16_000_000
"""Largest variant: photos above it are reduced first, which bounds the time of one cascade step."""


def _cv2() -> Any | None:
    try:
        return importlib.import_module("cv2")
    except ImportError:
        return None


def otsu_threshold(image: Image.Image) -> int:
    """Otsu's global threshold from the 256-bin histogram (maximises between-class variance)."""
    hist = image.histogram()[:256]
    total = sum(hist)
    if total == 0:
        return 128
    sum_all = sum(i * h for i, h in enumerate(hist))
    weight_bg = 0
    sum_bg = 0.0
    best_t, best_var = 128, -1.0
    for t in range(256):
        weight_bg += hist[t]
        if weight_bg == 0:
            continue
        weight_fg = total - weight_bg
        if weight_fg == 0:
            break
        sum_bg += t * hist[t]
        mean_bg = sum_bg / weight_bg
        mean_fg = (sum_all - sum_bg) / weight_fg
        var = weight_bg * weight_fg * (mean_bg - mean_fg) ** 2
        if var > best_var:
            best_var, best_t = var, t
    return best_t


def _arrays() -> tuple[Any, Any] | None:
    """(numpy, cv2) when OpenCV is installed, else ``None`` (the Pillow paths are used)."""
    cv2 = _cv2()
    if cv2 is None:
        return None
    return importlib.import_module("numpy"), cv2


def _via_cv2(image: Image.Image, fn: Callable[[Any, Any, Any], Any]) -> Image.Image | None:
    """``fn(np, cv2, pixels)`` on the image's pixels as a uint8 array, or ``None`` without OpenCV."""
    mods = _arrays()
    if mods is None:
        return None
    np, cv2 = mods
    return Image.fromarray(fn(np, cv2, np.asarray(image, dtype=np.uint8)))


def binarize_otsu(image: Image.Image) -> Image.Image:
    t = otsu_threshold(image)
    return image.point(lambda v: 255 if v > t else 0)


def binarize_adaptive(image: Image.Image, *, offset: int = 7) -> Image.Image:
    """Local-mean threshold: a pixel is dark when it is darker than its neighbourhood by ``offset``.

    The window is about a sixteenth of the shorter side: wider than a finder pattern's 3-module core of
    a card-sized code in a typical photo (a uniform dark area as wide as the window would turn light),
    narrower than a shadow's gradient.
    """
    radius = max(8, min(image.size) // 16)
    cv2 = _cv2()
    if cv2 is not None:
        np = importlib.import_module("numpy")
        array = np.asarray(image, dtype=np.uint8)
        out = cv2.adaptiveThreshold(array, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY,
                                    2 * radius + 1, offset)
        return Image.fromarray(out)
    local_mean = image.filter(ImageFilter.BoxBlur(radius))
    darker = ImageChops.subtract(local_mean, image)
    return darker.point(lambda v: 0 if v > offset else 255)


def equalize(image: Image.Image) -> Image.Image:
    cv2 = _cv2()
    if cv2 is not None:
        np = importlib.import_module("numpy")
        clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
        return Image.fromarray(clahe.apply(np.asarray(image, dtype=np.uint8)))
    return ImageOps.equalize(ImageOps.autocontrast(image, cutoff=1))


def sharpen(image: Image.Image) -> Image.Image:
    """Unsharp mask: the image plus twice its difference from a Gaussian blur of radius (sigma) 2."""
    fast = _via_cv2(image, lambda np, cv2, a: cv2.addWeighted(a, 3.0, cv2.GaussianBlur(a, (0, 0), 2.0),
                                                              -2.0, 0))
    if fast is not None:
        return fast
    return image.filter(ImageFilter.UnsharpMask(radius=2, percent=200, threshold=0))


def median3(image: Image.Image) -> Image.Image:
    fast = _via_cv2(image, lambda np, cv2, a: cv2.medianBlur(a, 3))
    return fast if fast is not None else image.filter(ImageFilter.MedianFilter(3))


def dilate3(image: Image.Image) -> Image.Image:
    """3x3 maximum: light grows, thin dark lines thin out."""
    fast = _via_cv2(image, lambda np, cv2, a: cv2.dilate(a, np.ones((3, 3), np.uint8)))
    return fast if fast is not None else image.filter(ImageFilter.MaxFilter(3))


def erode3(image: Image.Image) -> Image.Image:
    """3x3 minimum: dark modules grow back after glare or overexposure thinned them."""
    fast = _via_cv2(image, lambda np, cv2, a: cv2.erode(a, np.ones((3, 3), np.uint8)))
    return fast if fast is not None else image.filter(ImageFilter.MinFilter(3))


@functools.lru_cache(maxsize=4)
def _wiener_gain(height: int, width: int, sigma: float, noise: float) -> Any:
    """The Wiener filter's gain in OpenCV's packed (CCS) spectrum layout, for ``cv2.mulSpectrums``.

    The gain is real and even, so it is the spectrum of a real kernel: transforming that kernel with
    ``cv2.dft`` packs it exactly as the image's spectrum is packed. Computed once per image size (the
    frames of a stream share it). A Gaussian's transfer function is separable, an outer product.
    """
    np: Any = importlib.import_module("numpy")
    cv2: Any = _cv2()
    a = -2.0 * np.pi**2 * sigma**2
    ty = np.exp(a * np.fft.fftfreq(height) ** 2)
    tx = np.exp(a * np.fft.fftfreq(width) ** 2)
    transfer = np.outer(ty, tx)
    gain = transfer / (transfer * transfer + noise)
    kernel = np.ascontiguousarray(np.fft.ifft2(gain).real.astype(np.float32))
    packed = cv2.dft(kernel)
    packed.setflags(write=False)
    return packed


def deblur(image: Image.Image, *, sigma: float = 2.5, noise: float = 0.01) -> Image.Image:
    """Wiener deconvolution for a Gaussian blur of ``sigma`` px (a slightly out-of-focus photo).

    Unsharp masking only steepens edges; when blur has merged neighbouring modules, dividing the
    spectrum by the blur's transfer function (damped by ``noise`` so sensor noise is not amplified
    without bound) separates them again. Needs numpy (installed with OpenCV).
    """
    np: Any = importlib.import_module("numpy")
    pixels = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    height, width = pixels.shape
    cv2 = _cv2()
    if cv2 is not None:  # OpenCV's single-precision FFT: several times numpy's double-precision one
        spectrum = cv2.mulSpectrums(cv2.dft(pixels), _wiener_gain(height, width, sigma, noise), 0)
        restored = cv2.idft(spectrum, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
    else:
        fy = np.fft.fftfreq(height)[:, None]
        fx = np.fft.rfftfreq(width)[None, :]
        transfer = np.exp(-2.0 * (np.pi**2) * (sigma**2) * (fx**2 + fy**2))
        spectrum = np.fft.rfft2(pixels) * transfer / (transfer * transfer + noise)
        restored = np.fft.irfft2(spectrum, s=pixels.shape)
    return Image.fromarray(np.clip(restored * 255.0, 0, 255).astype(np.uint8))


def _have_numpy() -> bool:
    try:
        importlib.import_module("numpy")
    except ImportError:
        return False
    return True


def turn_45(image: Image.Image) -> Image.Image:
    """Some detectors find finder patterns less well at 45°; a second look from there."""
    def rotate(np: Any, cv2: Any, a: Any) -> Any:
        height, width = a.shape
        side = math.ceil((width + height) * math.sqrt(0.5))  # the turned image's bounding square
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 45, 1.0)
        matrix[0, 2] += side / 2 - width / 2
        matrix[1, 2] += side / 2 - height / 2
        return cv2.warpAffine(a, matrix, (side, side), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=255)

    fast = _via_cv2(image, rotate)
    return fast if fast is not None else image.rotate(45, resample=Image.Resampling.BICUBIC, expand=True,
                                                      fillcolor=255)


def rescale(image: Image.Image, factor: float) -> Image.Image:
    """Bicubic when enlarging, area averaging (Pillow's BOX) when reducing."""
    width, height = image.size
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    fast = _via_cv2(image, lambda np, cv2, a: cv2.resize(
        a, size, interpolation=cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA))
    if fast is not None:
        return fast
    resample = Image.Resampling.BICUBIC if factor > 1 else Image.Resampling.BOX
    return image.resize(size, resample)


def crops(image: Image.Image) -> list[Image.Image]:
    """Overlapping crops (the four quadrants and the centre, each 60% of a side), upscaled to about 2x.

    A card photographed from afar leaves the code at 60-100 px in a large frame; detectors that work on a
    downscaled pyramid lose it. Cropping restores the code's share of the image.
    """
    width, height = image.size
    cw, ch = int(width * 0.6), int(height * 0.6)
    if cw < 40 or ch < 40:
        return []
    boxes = [(0, 0), (width - cw, 0), (0, height - ch), (width - cw, height - ch),
             ((width - cw) // 2, (height - ch) // 2)]
    area = cw * ch
    factor = 2.0 if area * 4 <= UPSCALE_MAX_PIXELS else min(1.0, (WORK_MAX_PIXELS / area) ** 0.5)
    return [rescale(image.crop((x, y, x + cw, y + ch)), factor) for x, y in boxes]


def variants(image: Image.Image, *, turn: bool = True) -> Iterator[Variant]:
    """The cascade's variants of a greyscale image, in the order they are tried; built lazily.

    Every variant is at most :data:`WORK_MAX_PIXELS` (bigger photos are first reduced to that size; the
    crops come from the full image), so one step of the cascade costs one decoder pass over at most
    that many pixels. ``turn=False`` leaves out the 45° turn (for a decoder that finds codes at any
    angle by itself).
    """
    pixels = image.width * image.height
    work = image
    if pixels > WORK_MAX_PIXELS:
        reduced: list[Image.Image] = []

        def reduce() -> Image.Image:
            if not reduced:
                reduced.append(rescale(image, (WORK_MAX_PIXELS / pixels) ** 0.5))
            return reduced[0]

        yield "reduced", reduce  # built inside the cascade's step, after its deadline check
        work = reduce()
    width, height = work.size
    pixels = width * height
    small = pixels * 4 <= UPSCALE_MAX_PIXELS

    if small:
        yield "upscale-2x", lambda: rescale(work, 2.0)
    equalized: list[Image.Image] = []

    def equalized_work() -> Image.Image:  # shared by two variants
        if not equalized:
            equalized.append(equalize(work))
        return equalized[0]

    yield "otsu", lambda: binarize_otsu(work)
    yield "equalize", equalized_work
    yield "sharpen", lambda: sharpen(work)
    if small:
        yield "upscale-2x+sharpen", lambda: sharpen(rescale(work, 2.0))
    yield "adaptive", lambda: binarize_adaptive(work)
    yield "median", lambda: median3(work)
    if min(width, height) >= 400:
        yield "downscale-2x", lambda: rescale(work, 0.5)
    yield "equalize+otsu", lambda: binarize_otsu(equalized_work())
    yield "dilate", lambda: dilate3(work)
    yield "erode", lambda: erode3(work)
    if pixels <= UPSCALE_MAX_PIXELS and _have_numpy():  # an FFT of a phone photo: tens of ms
        yield "deblur", lambda: deblur(work)
    if turn and pixels * 2 <= WORK_MAX_PIXELS:  # turning by 45° with expand up to doubles the area
        yield "rotate-45", lambda: turn_45(work)
    for index, crop_fn in enumerate(_crop_makers(image)):
        yield f"crop-{index}", crop_fn
    if pixels * 9 <= UPSCALE_MAX_PIXELS:
        yield "upscale-3x+otsu", lambda: binarize_otsu(rescale(work, 3.0))


def _crop_makers(image: Image.Image) -> Iterator[Callable[[], Image.Image]]:
    cache: list[Image.Image] = []

    def make(i: int) -> Callable[[], Image.Image]:
        def build() -> Image.Image:
            if not cache:
                cache.extend(crops(image))
            return cache[i] if i < len(cache) else image
        return build

    width, height = image.size
    if int(width * 0.6) >= 40 and int(height * 0.6) >= 40:
        for i in range(5):
            yield make(i)
