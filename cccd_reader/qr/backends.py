"""QR decoding backends behind one small interface.

Each backend takes an 8-bit greyscale Pillow image and returns the texts of the QR codes it decoded. A
backend never lets a decoder guess a character set: it takes the symbol's raw content bytes and decodes
them as UTF-8, strictly (the CCCD payload, and what phones write, is UTF-8 byte mode without ECI). Bytes
that are not UTF-8 are read as ISO-8859-1, the default the QR standard (ISO/IEC 18004) gives byte mode,
or by the charset the symbol declares with an ECI where the decoder reports it (zxing-cpp). OpenCV
applies that same rule inside its decoder, so all backends agree. A decoder's own charset *guess* (zbar
without binary mode) is used only when it can be undone exactly, otherwise the result is dropped: a wrong
name or address is worse than no result, and the caller can retry with another photo.

Backends, best first (measured in docs/qr-images.md):

* ``zxing``  - zxing-cpp: fastest and most tolerant; raw bytes from ``Barcode.bytes``.
* ``zbar``   - pyzbar + libzbar: zbar guesses a charset when the QR has no ECI and garbles Vietnamese
  (Big5 / Shift_JIS / Latin-1 guesses). We switch on zbar's binary mode (``ZBAR_CFG_BINARY``, zbar >= 0.23),
  which pyzbar's ``decode()`` does not expose, so the scan is driven through pyzbar's ctypes wrapper. With an
  older zbar (no binary mode) only results that are plain ASCII or a repairable Latin-1 misreading of UTF-8
  are kept: other guesses cannot be undone.
* ``opencv`` - OpenCV's ``QRCodeDetectorAruco`` then ``QRCodeDetector``, through their ``...Bytes`` methods.

Optional packages are imported on first use so that a missing one costs nothing until it is asked for.
"""

from __future__ import annotations

import ctypes
import importlib
import threading
from collections.abc import Callable
from typing import Any, Protocol

from PIL import Image

from cccd_reader.errors import InputError, QRBackendUnavailable

BACKEND_NAMES: tuple[str, ...] = ("zxing", "zbar", "opencv")
"""Every backend, in the order ``auto`` prefers them (best decode rate and speed first)."""

_PACKAGES = {"zxing": "zxing-cpp", "zbar": "pyzbar (and the libzbar0 system library)",
             "opencv": "opencv-python-headless"}


class Backend(Protocol):
    """A QR decoder: greyscale image in, exact texts out (possibly empty, never garbled)."""

    name: str

    def decode(self, image: Image.Image) -> list[str]:
        """Decode every QR code in ``image`` (mode ``"L"``); return their texts in reading order."""
        ...


def text_from_bytes(raw: bytes) -> str | None:
    """The symbol's text if its bytes are valid UTF-8, else ``None``. Nothing is stripped (not even a
    BOM): the text is returned exactly, and the payload parser reports the repairs it makes."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def symbol_text(raw: bytes) -> str:
    """UTF-8 when the bytes are UTF-8, else ISO-8859-1 (ISO/IEC 18004's default for byte mode)."""
    text = text_from_bytes(raw)
    return raw.decode("latin-1") if text is None else text


def repair_latin1(text: str) -> str | None:
    """Undo a Latin-1 misreading of UTF-8 bytes; ASCII passes through; anything else is unrecoverable.

    A decoder that guessed Latin-1 for UTF-8 bytes yields e.g. ``"HÃ\\xa0ng"`` for ``"Hàng"``; re-encoding as
    Latin-1 gives the original bytes back. Guesses of other charsets (Big5, Shift_JIS) lose information,
    so any text outside Latin-1 that did not come from raw bytes is rejected (``None``).
    """
    if text.isascii():
        return text
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return text_from_bytes(raw)


def _dedupe(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(texts))


# --- zxing-cpp ----------------------------------------------------------------------------------------


class ZXingBackend:
    name = "zxing"

    def __init__(self) -> None:
        self._zx: Any = importlib.import_module("zxingcpp")
        self._formats = self._zx.BarcodeFormat.QRCode

    def decode(self, image: Image.Image) -> list[str]:
        results = self._zx.read_barcodes(image, formats=self._formats)
        texts: list[str] = []
        for result in sorted(results, key=_zxing_position):
            text = text_from_bytes(bytes(result.bytes))
            # not UTF-8: zxing-cpp's text applies the symbol's ECI, or ISO-8859-1 without one
            texts.append(text if text is not None else str(result.text))
        return _dedupe(texts)


def _zxing_position(result: Any) -> tuple[int, int]:
    try:
        point = result.position.top_left
        return (int(point.y), int(point.x))
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - older zxing-cpp
        return (0, 0)


# --- zbar ---------------------------------------------------------------------------------------------

_ZBAR_CFG_BINARY = 4  # zbar >= 0.23: enum zbar_config_e { ENABLE, ADD_CHECK, EMIT_CHECK, ASCII, BINARY, ...}
_ZBAR_FOURCC_Y800 = 808466521  # 'Y800': 8-bit grey


class ZBarBackend:
    name = "zbar"

    def __init__(self) -> None:
        try:
            self._w: Any = importlib.import_module("pyzbar.wrapper")
            self._w.load_libzbar()  # pyzbar loads libzbar lazily; fail here, not mid-decode
        except ImportError:
            raise
        except Exception as exc:  # e.g. OSError when the libzbar0 system library is missing
            raise ImportError(str(exc)) from exc
        self._qr = int(self._w.ZBarSymbol.QRCODE)
        self._binary = self._supports_binary()
        # a zbar scanner is not thread-safe; one lock keeps concurrent calls correct
        self._lock = threading.Lock()

    def _supports_binary(self) -> bool:
        """zbar >= 0.23 has ZBAR_CFG_BINARY. Ask the library itself, with our own prototype: since 0.23.90
        ``zbar_version`` takes a third (patch) pointer that pyzbar's binding does not pass, which
        crashes. Passing three pointers is safe for both signatures (extra arguments are ignored)."""
        major, minor, patch = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
        try:
            lib = self._w.load_libzbar()
            uint_p = ctypes.POINTER(ctypes.c_uint)
            func = ctypes.CFUNCTYPE(ctypes.c_int, uint_p, uint_p, uint_p)(("zbar_version", lib))
            func(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))
        except Exception:  # pragma: no cover - exotic builds: be conservative
            return False
        return (major.value, minor.value) >= (0, 23)

    @property
    def binary_mode(self) -> bool:
        """Whether zbar returns the symbol's raw bytes (``True`` with zbar >= 0.23)."""
        return self._binary

    def decode(self, image: Image.Image) -> list[str]:
        w = self._w
        pixels = image.tobytes()
        buffer = ctypes.create_string_buffer(pixels, len(pixels))  # alive until zbar is done with it
        width, height = image.size
        found: list[tuple[tuple[int, int], bytes]] = []
        with self._lock:
            scanner = w.zbar_image_scanner_create()
            if not scanner:  # pragma: no cover - out of memory inside zbar
                return []
            try:
                w.zbar_image_scanner_set_config(scanner, 0, 0, 0)  # disable every symbology ...
                w.zbar_image_scanner_set_config(scanner, self._qr, 0, 1)  # ... but QR
                if self._binary:
                    w.zbar_image_scanner_set_config(scanner, self._qr, _ZBAR_CFG_BINARY, 1)
                zimg = w.zbar_image_create()
                if not zimg:  # pragma: no cover
                    return []
                try:
                    w.zbar_image_set_format(zimg, _ZBAR_FOURCC_Y800)
                    w.zbar_image_set_size(zimg, width, height)
                    w.zbar_image_set_data(zimg, ctypes.cast(buffer, ctypes.c_void_p), len(pixels), None)
                    if w.zbar_scan_image(scanner, zimg) > 0:
                        symbol = w.zbar_image_first_symbol(zimg)
                        while symbol:
                            if symbol.contents.type == self._qr:
                                data = ctypes.string_at(w.zbar_symbol_get_data(symbol),
                                                        w.zbar_symbol_get_data_length(symbol))
                                xs = [w.zbar_symbol_get_loc_x(symbol, i)
                                      for i in range(w.zbar_symbol_get_loc_size(symbol))]
                                ys = [w.zbar_symbol_get_loc_y(symbol, i)
                                      for i in range(w.zbar_symbol_get_loc_size(symbol))]
                                found.append(((min(ys, default=0), min(xs, default=0)), data))
                            symbol = w.zbar_symbol_next(symbol)
                finally:
                    w.zbar_image_destroy(zimg)
            finally:
                w.zbar_image_scanner_destroy(scanner)
        texts: list[str] = []
        for _pos, data in sorted(found, key=lambda item: item[0]):
            if self._binary:
                text: str | None = symbol_text(data)
            else:
                guessed = text_from_bytes(data)  # zbar's own conversion to UTF-8
                text = None if guessed is None else repair_latin1(guessed)
            if text is not None:
                texts.append(text)
        return _dedupe(texts)


# --- OpenCV -------------------------------------------------------------------------------------------


class OpenCVBackend:
    name = "opencv"

    def __init__(self) -> None:
        self._cv: Any = importlib.import_module("cv2")
        self._np: Any = importlib.import_module("numpy")
        self._detectors: list[Any] = []
        aruco = getattr(self._cv, "QRCodeDetectorAruco", None)
        if aruco is not None:
            self._detectors.append(aruco())
        self._detectors.append(self._cv.QRCodeDetector())
        self._lock = threading.Lock()

    def decode(self, image: Image.Image) -> list[str]:
        array = self._np.asarray(image, dtype=self._np.uint8)
        with self._lock:  # the detector objects keep state between calls
            for detector in self._detectors:
                texts = self._run(detector, array)
                if texts:
                    return texts
        return []

    def _run(self, detector: Any, array: Any) -> list[str]:
        found: list[tuple[tuple[float, float], bytes]] = []
        try:
            if hasattr(detector, "detectAndDecodeBytesMulti"):
                ok, datas, points, _ = detector.detectAndDecodeBytesMulti(array)
            else:  # pragma: no cover - OpenCV < 4.11 has no bytes API; its str is UTF-8 already
                ok, strs, points, _ = detector.detectAndDecodeMulti(array)
                datas = [s.encode("utf-8", "surrogateescape") for s in strs]
        except Exception:  # cv2.error on odd geometry; a miss, not a failure of the caller's input
            return []
        if not ok:
            return []
        for index, data in enumerate(datas):
            if not data:
                continue
            try:
                quad = points[index]
                key = (float(quad[:, 1].min()), float(quad[:, 0].min()))
            except Exception:
                key = (0.0, 0.0)
            found.append((key, bytes(data)))
        texts = [symbol_text(data) for _k, data in sorted(found, key=lambda item: item[0])]
        return _dedupe(texts)


# --- registry -----------------------------------------------------------------------------------------

_FACTORIES: dict[str, Callable[[], Backend]] = {
    "zxing": ZXingBackend,
    "zbar": ZBarBackend,
    "opencv": OpenCVBackend,
}
_CACHE: dict[str, Backend] = {}
_MISSING: dict[str, str] = {}
_REGISTRY_LOCK = threading.Lock()


def get_backend(name: str) -> Backend:
    """The named backend; :class:`QRBackendUnavailable` if its package is not installed.

    Backends are created once and reused (creating an OpenCV detector is not free).
    """
    if name not in _FACTORIES:
        raise InputError(f"unknown QR backend {name!r}; choose one of {', '.join(('auto', *BACKEND_NAMES))}")
    with _REGISTRY_LOCK:
        if name in _CACHE:
            return _CACHE[name]
        if name in _MISSING:
            raise QRBackendUnavailable(_MISSING[name])
        try:
            backend = _FACTORIES[name]()
        except ImportError as exc:
            message = f"QR backend {name!r} needs {_PACKAGES[name]}, which is not installed or not loadable"
            _MISSING[name] = message
            raise QRBackendUnavailable(message) from exc
        _CACHE[name] = backend
        return backend


def available_backends() -> list[str]:
    """Names of the backends whose packages load here, best first."""
    names = []
    for name in BACKEND_NAMES:
        try:
            get_backend(name)
        except QRBackendUnavailable:
            continue
        names.append(name)
    return names
