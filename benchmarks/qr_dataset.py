"""Generate a deterministic set of degraded photos of synthetic CCCD / Căn cước cards.

Each image is a fake card (drawn with Pillow: the 85.6 x 54 mm ID-1 format with its 18 x 18 mm QR code in
place) photographed badly in one way. Categories, each ramped from mild to severe across its images:

    clean, rotation, perspective, blur, motion_blur, low_res, jpeg, glare, shadow, noise, clutter,
    long_payload

Half of each category shows the front of a CCCD (2021-2024, 7-field payload, QR top right), half the back
of a Căn cước (2024+, 11-field payload ending ``||||``, QR top left, MRZ below). People are synthetic;
names and addresses use Vietnamese with every tone mark and vowel, and ``long_payload`` cards carry
addresses of 330+ bytes (QR versions 13-16, so finer modules in the same 18 mm). Some ``clutter`` scenes
hold a decoy QR code that is not a card payload.

Nothing here is committed except a few samples (``--samples``): images are made into a cache folder at
test or benchmark time. Usage::

    python3 benchmarks/qr_dataset.py --out DIR [--seed 2024] [--per-category 12]
    python3 benchmarks/qr_dataset.py --samples samples/qr

The manifest (``manifest.json``) lists every image with its category, card generation and exact payload.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import segno
from PIL import Image, ImageDraw, ImageFilter, ImageFont

GENERATOR_VERSION = 7  # bump when the images change, so cached sets are remade

CATEGORIES = (
    "clean", "rotation", "perspective", "blur", "motion_blur", "low_res", "jpeg", "glare", "shadow",
    "noise", "clutter", "long_payload",
)

DPMM = 20  # card drawing resolution, pixels per millimetre (a QR module is >= 3 px)
CARD_MM = (85.6, 54.0)
QR_MM = 18.0

ALL_DIACRITICS = (
    "aàáảãạ ăằắẳẵặ âầấẩẫậ eèéẻẽẹ êềếểễệ iìíỉĩị oòóỏõọ ôồốổỗộ ơờớởỡợ uùúủũụ ưừứửữự yỳýỷỹỵ đ "
    "AÀÁẢÃẠ ĂẰẮẲẴẶ ÂẦẤẨẪẬ EÈÉẺẼẸ ÊỀẾỂỄỆ IÌÍỈĨỊ OÒÓỎÕỌ ÔỒỐỔỖỘ ƠỜỚỞỠỢ UÙÚỦŨỤ ƯỪỨỬỮỰ YỲÝỶỸỴ Đ"
)

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
          "Ngô", "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Ngọc", "Thanh", "Minh", "Quốc", "Thùy", "Xuân", "Khắc", "Bảo")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Giang", "Hương", "Khánh", "Linh", "Mỹ", "Nguyệt", "Phượng", "Quỳnh",
         "Sơn", "Thảo", "Tuấn", "Uyên", "Việt", "Yến", "Ẩn", "Ỷ", "Trường", "Nhung", "Lộc", "Tỉnh")
STREETS = ("Phố Huế", "Lê Duẩn", "Nguyễn Trãi", "Trần Hưng Đạo", "Hàng Bài", "Điện Biên Phủ",
           "Lý Thường Kiệt", "Cầu Giấy", "Võ Thị Sáu", "Hai Bà Trưng", "Ngõ Quỳnh", "Đường Số 7")
WARDS = ("Phường Hàng Bài", "Phường Bến Nghé", "Xã Yên Thường", "Phường Quỳnh Mai", "Xã Ẩm Hạ",
         "Phường Hải Châu I", "Thị trấn Đông Anh", "Xã Tả Phìn")
DISTRICTS = ("Quận Hoàn Kiếm", "Quận 1", "Huyện Gia Lâm", "Quận Hai Bà Trưng", "Huyện Sa Pa",
             "Quận Hải Châu", "Huyện Đông Anh", "Thành phố Thủ Đức")
CITIES = (("001", "Hà Nội"), ("079", "Thành phố Hồ Chí Minh"), ("048", "Đà Nẵng"), ("031", "Hải Phòng"),
          ("092", "Cần Thơ"), ("010", "Lào Cai"), ("037", "Ninh Bình"), ("040", "Nghệ An"))
DECOYS = ("https://example.com/menu?table=12", "WIFI:T:WPA;S:quan-ca-phe;P:khong-co-that;;",
          "Hóa đơn số 000123 - cảm ơn quý khách")

FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
              "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@dataclass(frozen=True)
class Case:
    file: str
    category: str
    generation: str  # "cccd" (7 fields) or "can-cuoc" (11 fields)
    level: float  # 0 = mildest, 1 = most severe in its category
    payload: str
    decoy: str | None = None


# --- synthetic people ---------------------------------------------------------------------------------


def make_payload(rng: random.Random, generation: str, *, long_text: bool = False) -> str:
    """A synthetic payload in the card's wire format (cccd-card-facts §1.2)."""
    province, city = rng.choice(CITIES)
    female = rng.random() < 0.5
    year = rng.randint(1950, 2006)
    century = 0 if year < 2000 else 2
    id_number = f"{province}{century + (1 if female else 0)}{year % 100:02d}{rng.randrange(10**6):06d}"
    old_id = "" if year >= 2003 or rng.random() < 0.2 else f"{rng.randrange(10**9):09d}"
    middle = "Thị" if female and rng.random() < 0.6 else rng.choice(MIDDLE)
    name = f"{rng.choice(FAMILY)} {middle} {rng.choice(GIVEN)}"
    if rng.random() < 0.3:
        name += f" {rng.choice(GIVEN)}"
    dob = f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{year}"
    sex = "Nữ" if female else "Nam"
    street = f"Số {rng.randint(1, 300)} {rng.choice(STREETS)}"
    address = f"{street}, {rng.choice(WARDS)}, {rng.choice(DISTRICTS)}, {city}"
    if long_text:  # ~330-400 UTF-8 bytes: QR version 13-15 in the same 18 mm; one case of every letter
        lower, upper = ALL_DIACRITICS.split(" đ ")
        letters = f"{lower} đ" if rng.random() < 0.5 else f"{upper}"
        address = f"Tổ {rng.randint(1, 40)}, Thôn Thượng Ẩm, {address} ({letters})"
    if generation == "cccd":
        issue = f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(2021, 2023)}"
        return f"{id_number}|{old_id}|{name}|{dob}|{sex}|{address}|{issue}"
    issue = f"{rng.randint(1, 28):02d}{rng.randint(7, 12):02d}2024"
    return f"{id_number}|{old_id}|{name}|{dob}|{sex}|{address}|{issue}||||"


# --- drawing the card ---------------------------------------------------------------------------------


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_PATHS[1 if bold else 0]
    if os.path.exists(path):
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def qr_image(payload: str, size_px: int, *, quiet_modules: int = 2) -> Image.Image:
    """The payload as a QR (UTF-8 byte mode, no ECI, level M like phones make it) of ``size_px`` square.

    Modules are drawn at fractional size (rounded edges per module), as a printed code photographed at
    an arbitrary resolution would be.
    """
    qr = segno.make(payload, encoding="utf-8", error="m", micro=False, boost_error=False)
    matrix = [list(row) for row in qr.matrix]
    n = len(matrix) + 2 * quiet_modules
    img = Image.new("L", (size_px, size_px), 255)
    draw = ImageDraw.Draw(img)
    step = size_px / n
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                x0 = round((x + quiet_modules) * step)
                y0 = round((y + quiet_modules) * step)
                x1 = round((x + quiet_modules + 1) * step) - 1
                y1 = round((y + quiet_modules + 1) * step) - 1
                draw.rectangle((x0, y0, x1, y1), fill=20)
    return img


def draw_card(payload: str, generation: str, rng: random.Random, *, with_qr: bool = True) -> Image.Image:
    """A fake card, ID-1 size at :data:`DPMM`, with the QR 18 x 18 mm where each generation has it.

    ``with_qr=False`` leaves the QR's place blank (a card photographed from the wrong side, a photo of
    something else): what the cascade meets when there is nothing to find.
    """
    width, height = round(CARD_MM[0] * DPMM), round(CARD_MM[1] * DPMM)
    base = (226, 236, 244) if generation == "cccd" else (236, 232, 222)
    card = Image.new("RGB", (width, height), base)
    draw = ImageDraw.Draw(card)
    # guilloche-like background lines
    for k in range(14):
        phase = rng.random() * math.tau
        amp = rng.uniform(8, 30)
        pts = [(x, height * (k + 0.5) / 14 + amp * math.sin(x / rng.uniform(30, 80) + phase))
               for x in range(0, width, 6)]
        draw.line(pts, fill=tuple(max(0, c - rng.randint(15, 40)) for c in base), width=1)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=3 * DPMM, outline=(150, 150, 160), width=2)
    fields = payload.split("|")
    qr_px = round(QR_MM * DPMM)
    small, normal, title = _font(int(2.0 * DPMM)), _font(int(2.6 * DPMM)), _font(int(3.2 * DPMM), bold=True)
    if generation == "cccd":  # front: emblem, photo left, QR top right
        qr_pos = (width - qr_px - 3 * DPMM, 3 * DPMM)
        draw.ellipse((4 * DPMM, 4 * DPMM, 14 * DPMM, 14 * DPMM), fill=(200, 40, 40))
        draw.text((17 * DPMM, 4 * DPMM), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font=small, fill=(20, 20, 60))
        draw.text((17 * DPMM, 8 * DPMM), "CĂN CƯỚC CÔNG DÂN", font=title, fill=(180, 20, 20))
        draw.rectangle((4 * DPMM, 18 * DPMM, 24 * DPMM, 44 * DPMM), fill=(190, 195, 205))
        draw.ellipse((8 * DPMM, 21 * DPMM, 20 * DPMM, 36 * DPMM), fill=(160, 140, 130))
        lines = [f"Số / No.: {fields[0]}", f"Họ và tên: {fields[2]}",
                 f"Ngày sinh: {fields[3]}  Giới tính: {fields[4]}", "Quốc tịch: Việt Nam",
                 f"Nơi thường trú: {fields[5][:40]}"]
        for i, text in enumerate(lines):
            font = normal if i < 2 else small
            draw.text((27 * DPMM, (24 + 5 * i) * DPMM), text, font=font, fill=(25, 25, 35))
    else:  # Căn cước back: QR top left, text right, MRZ at the bottom
        qr_pos = (3 * DPMM, 3 * DPMM)
        lines = [f"Nơi cư trú: {fields[5][:34]}", f"{fields[5][34:68]}", f"Ngày cấp: {fields[6]}",
                 "BỘ CÔNG AN", "Ngày, tháng, năm hết hạn"]
        for i, text in enumerate(lines):
            draw.text((24 * DPMM, (4 + 4 * i) * DPMM), text, font=small, fill=(25, 25, 35))
        mono = _font(int(3.0 * DPMM))
        doc = fields[0][3:12]
        mrz = [f"IDVNM{doc}0{fields[0]}<<0"[:30], f"{fields[3][6:]}0101M3412317VNM<<<<<<<<<<<6"[:30],
               "NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<"[:30]]
        for i, text in enumerate(mrz):
            draw.text((4 * DPMM, (38 + 4.5 * i) * DPMM), text, font=mono, fill=(15, 15, 15))
    if with_qr:
        card.paste(qr_image(payload, qr_px).convert("RGB"), qr_pos)
    card.info["qr_centre"] = (qr_pos[0] + qr_px / 2, qr_pos[1] + qr_px / 2)  # for aiming glare and shadow
    return card


# --- photographing it badly ---------------------------------------------------------------------------


def _background(size: tuple[int, int], rng: random.Random, *, busy: bool) -> Image.Image:
    colour = tuple(rng.randint(60, 200) for _ in range(3))
    bg = Image.new("RGB", size, colour)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(bg)
    w, h = size
    count = 60 if busy else 6
    for _ in range(count):
        fill = tuple(rng.randint(0, 255) for _ in range(3))
        kind = rng.random()
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randint(10, w // 3), y0 + rng.randint(10, h // 3)
        if kind < 0.35:
            draw.rectangle((x0, y0, x1, y1), fill=fill)  # type: ignore[arg-type]
        elif kind < 0.6:
            draw.ellipse((x0, y0, x1, y1), fill=fill)  # type: ignore[arg-type]
        elif kind < 0.85:
            draw.line((x0, y0, x1, y1), fill=fill, width=rng.randint(1, 8))  # type: ignore[arg-type]
        elif busy:
            draw.text((x0, y0), rng.choice(("Hóa đơn", "0912 345 678", "ABC-123", "Cà phê sữa đá")),
                      font=_font(rng.randint(14, 60)), fill=fill)  # type: ignore[arg-type]
    return bg.filter(ImageFilter.GaussianBlur(1.2 if busy else 3))


def _place(card: Image.Image, scene: Image.Image, card_width: int, angle: float,
           centre: tuple[int, int]) -> Image.Image:
    """Paste the card, scaled and turned, centred at ``centre``; ``info["qr_centre"]`` says where its QR
    ended up in the scene."""
    scale = card_width / card.width
    width, height = card.size
    qx, qy = card.info.get("qr_centre", (width / 2, height / 2))
    card = card.resize((card_width, max(1, round(card.height * scale))), Image.Resampling.LANCZOS)
    rgba = card.convert("RGBA").rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    out = scene.copy()
    out.paste(rgba, (centre[0] - rgba.width // 2, centre[1] - rgba.height // 2), rgba)
    # Pillow turns counter-clockwise on screen (y down): (dx, dy) -> (dx cos + dy sin, -dx sin + dy cos)
    dx, dy = (qx - width / 2) * scale, (qy - height / 2) * scale
    a = math.radians(angle)
    out.info["qr_centre"] = (centre[0] + dx * math.cos(a) + dy * math.sin(a),
                             centre[1] - dx * math.sin(a) + dy * math.cos(a))
    return out


def _photo(card: Image.Image, rng: random.Random, *, card_width: int = 900, angle: float | None = None,
           scene: tuple[int, int] = (1280, 960), busy: bool = False) -> Image.Image:
    """The card on a table-like background, as a phone frames it: the QR is ~190 px (~3.5 px/module)."""
    bg = _background(scene, rng, busy=busy)
    a = rng.uniform(-4, 4) if angle is None else angle
    # keep the whole turned card in the frame, as a person aiming at the card would
    w, h = card_width, card_width * card.height / card.width
    c, s = abs(math.cos(math.radians(a))), abs(math.sin(math.radians(a)))
    fit = min(1.0, 0.96 * scene[0] / (w * c + h * s), 0.96 * scene[1] / (w * s + h * c))
    card_width = round(card_width * fit)
    bw, bh = (w * c + h * s) * fit, (w * s + h * c) * fit
    slack_x, slack_y = max(0, int((scene[0] - bw) / 2) - 4), max(0, int((scene[1] - bh) / 2) - 4)
    cx = scene[0] // 2 + rng.randint(-slack_x, slack_x)
    cy = scene[1] // 2 + rng.randint(-slack_y, slack_y)
    return _place(card, bg, card_width, a, (cx, cy))


def _perspective(img: Image.Image, strength: float, rng: random.Random) -> Image.Image:
    w, h = img.size
    d = strength * min(w, h)
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(rng.uniform(0, d), rng.uniform(0, d)), (w - rng.uniform(0, d), rng.uniform(0, d)),
           (w - rng.uniform(0, d), h - rng.uniform(0, d)), (rng.uniform(0, d), h - rng.uniform(0, d))]
    # Pillow maps output (x, y) to input: solve for the 8 coefficients from dst -> src
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend([u, v])
    coeffs = np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float))
    return img.transform((w, h), Image.Transform.PERSPECTIVE, tuple(coeffs.tolist()),
                         Image.Resampling.BICUBIC, fillcolor=(90, 90, 90))


def _motion_blur(img: Image.Image, length: int, angle_deg: float) -> Image.Image:
    arr = np.asarray(img, dtype=np.float32)
    acc = np.zeros_like(arr)
    dx, dy = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    for k in range(length):
        t = k - (length - 1) / 2
        acc += np.roll(arr, (round(t * dy), round(t * dx)), axis=(0, 1))
    return Image.fromarray(np.clip(acc / length, 0, 255).astype(np.uint8))


def _noise(img: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    gen = np.random.default_rng(rng.randrange(2**32))
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + gen.normal(0, sigma, arr.shape[:2])[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _light(img: Image.Image, rng: random.Random, *, glare: float = 0.0, shadow: float = 0.0,
           near: tuple[float, float] | None = None) -> Image.Image:
    """A specular highlight (added, saturating) or a soft shadow edge (multiplied) across the image."""
    w, h = img.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    arr = np.asarray(img, dtype=np.float32)
    cx, cy = near if near is not None else (rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h)
    if glare:
        r = min(w, h) * rng.uniform(0.06, 0.12)
        blob = np.exp(-(((xx - cx) ** 2) / (2 * r * r * 2.0) + ((yy - cy) ** 2) / (2 * r * r)))
        arr = arr + 255 * glare * 1.6 * blob[..., None]
    if shadow:
        theta = rng.uniform(0, math.tau)
        dist = (xx - cx) * math.cos(theta) + (yy - cy) * math.sin(theta)
        soft = 1 / (1 + np.exp(-dist / (min(w, h) * 0.02)))
        arr = arr * (1 - shadow * soft)[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def degrade(card: Image.Image, category: str, level: float, generation: str, rng: random.Random,
            decoy: str | None = None) -> Image.Image:
    lv = level
    if category == "clean":
        return _photo(card, rng, card_width=round(1000 - 300 * lv))
    if category == "rotation":
        angle = (8 + 170 * lv) * rng.choice((-1, 1))
        return _photo(card, rng, angle=angle)
    if category == "perspective":
        return _perspective(_photo(card, rng), 0.06 + 0.26 * lv, rng)
    if category == "blur":
        return _photo(card, rng).filter(ImageFilter.GaussianBlur(0.8 + 3.2 * lv))
    if category == "motion_blur":
        return _motion_blur(_photo(card, rng), round(3 + 15 * lv), rng.uniform(0, 180))
    if category == "low_res":
        photo = _photo(card, rng)
        factor = 0.6 - 0.35 * lv  # QR from ~115 px down to ~48 px
        return photo.resize((round(photo.width * factor), round(photo.height * factor)), Image.Resampling.BOX)
    if category == "jpeg":
        return _jpeg(_photo(card, rng, card_width=700), round(30 - 26 * lv))
    if category == "glare":
        photo = _photo(card, rng)
        return _light(photo, rng, glare=0.35 + 0.65 * lv, near=photo.info["qr_centre"])
    if category == "shadow":
        photo = _photo(card, rng)
        return _light(photo, rng, shadow=0.35 + 0.55 * lv, near=photo.info["qr_centre"])
    if category == "noise":
        return _noise(_photo(card, rng), 15 + 75 * lv, rng)
    if category == "clutter":
        scene = _background((1600, 1200), rng, busy=True)
        cw = round(520 - 220 * lv)
        pos = (rng.randint(cw, 1600 - cw), rng.randint(cw // 2 + 60, 1200 - cw // 2 - 60))
        out = _place(card, scene, cw, rng.uniform(-35, 35), pos)
        if decoy is not None:
            dq = qr_image(decoy, 150).convert("RGB")
            spot = (60, 60) if pos[0] > 800 else (1600 - 220, 1200 - 220)
            out.paste(dq, spot)
        return out
    if category == "long_payload":
        photo = _photo(card, rng, card_width=round(1150 - 450 * lv), angle=rng.uniform(-10, 10))
        return photo.filter(ImageFilter.GaussianBlur(0.4 + 1.0 * lv))
    raise ValueError(f"unknown category {category!r}")


# --- the set ------------------------------------------------------------------------------------------


def generate(out_dir: str | os.PathLike[str], *, seed: int = 2024, per_category: int = 12,
             categories: tuple[str, ...] = CATEGORIES) -> list[Case]:
    """Write the images and ``manifest.json`` into ``out_dir``; return the cases. Deterministic per seed."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    for category in categories:
        for i in range(per_category):
            rng = random.Random(f"{seed}/{category}/{i}")
            generation = "cccd" if i % 2 == 0 else "can-cuoc"
            level = i / (per_category - 1) if per_category > 1 else 0.0
            payload = make_payload(rng, generation, long_text=category == "long_payload")
            decoy = rng.choice(DECOYS) if category == "clutter" and i % 3 == 1 else None
            card = draw_card(payload, generation, rng)
            img = degrade(card, category, level, generation, rng, decoy)
            name = f"{category}-{i:02d}-{generation}"
            if category in ("clean", "jpeg"):  # jpeg: already compressed at its own quality, kept lossless
                file = f"{name}.png"
                img.save(out / file, format="PNG")
            else:  # phone photos are JPEGs: store the rest as a good-quality JPEG
                file = f"{name}.jpg"
                img.save(out / file, format="JPEG", quality=92)
            cases.append(Case(file, category, generation, round(level, 3), payload, decoy))
    manifest = {"generator_version": GENERATOR_VERSION, "seed": seed, "per_category": per_category,
                "cases": [asdict(c) for c in cases]}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return cases


def generate_no_qr(out_dir: str | os.PathLike[str], *, seed: int = 2024, per_category: int = 3,
                   categories: tuple[str, ...] = CATEGORIES) -> list[Case]:
    """The same kinds of photos with no QR code anywhere (no decoy either); ``payload`` is empty."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    for category in categories:
        for i in range(per_category):
            rng = random.Random(f"{seed}/no-qr/{category}/{i}")
            generation = "cccd" if i % 2 == 0 else "can-cuoc"
            level = i / (per_category - 1) if per_category > 1 else 0.0
            payload = make_payload(rng, generation, long_text=category == "long_payload")
            card = draw_card(payload, generation, rng, with_qr=False)
            img = degrade(card, category, level, generation, rng)
            file = f"no-qr-{category}-{i:02d}-{generation}.jpg"
            img.save(out / file, format="JPEG", quality=92)
            cases.append(Case(file, category, generation, round(level, 3), ""))
    manifest = {"generator_version": GENERATOR_VERSION, "seed": seed, "per_category": per_category,
                "no_qr": True, "cases": [asdict(c) for c in cases]}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return cases


def load_manifest(directory: str | os.PathLike[str]) -> list[Case]:
    data = json.loads((Path(directory) / "manifest.json").read_text(encoding="utf-8"))
    return [Case(**c) for c in data["cases"]]


def cached_dataset(*, seed: int = 2024, per_category: int = 12, root: str | os.PathLike[str] | None = None,
                   categories: tuple[str, ...] = CATEGORIES) -> tuple[Path, list[Case]]:
    """The set for these parameters, made once into a cache folder and reused while it is complete."""
    key = hashlib.sha256(f"{GENERATOR_VERSION}/{seed}/{per_category}/{categories}".encode()).hexdigest()[:12]
    base = Path(root) if root is not None else Path(
        os.environ.get("XDG_CACHE_HOME") or Path(tempfile.gettempdir())) / "cccd-reader-qr"
    folder = base / f"set-{key}"
    try:
        cases = load_manifest(folder)
        if all((folder / c.file).exists() for c in cases):
            return folder, cases
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return folder, generate(folder, seed=seed, per_category=per_category, categories=categories)


def cached_no_qr_set(*, seed: int = 2024, per_category: int = 3,
                     root: str | os.PathLike[str] | None = None) -> tuple[Path, list[Case]]:
    """The no-QR photos (:func:`generate_no_qr`), made once into the cache folder."""
    key = hashlib.sha256(f"{GENERATOR_VERSION}/no-qr/{seed}/{per_category}".encode()).hexdigest()[:12]
    base = Path(root) if root is not None else Path(
        os.environ.get("XDG_CACHE_HOME") or Path(tempfile.gettempdir())) / "cccd-reader-qr"
    folder = base / f"no-qr-{key}"
    try:
        cases = load_manifest(folder)
        if all((folder / c.file).exists() for c in cases):
            return folder, cases
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return folder, generate_no_qr(folder, seed=seed, per_category=per_category)


def write_samples(out_dir: str | os.PathLike[str], *, seed: int = 7) -> list[Case]:
    """The few images committed under samples/qr/: clean cards of both generations, a long payload,
    an empty old-ID field, and a lightly rotated photo; plus their manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    specs = [("cccd-front", "cccd", False, "clean"), ("can-cuoc-back", "can-cuoc", False, "clean"),
             ("long-address", "can-cuoc", True, "clean"), ("photo-rotated", "cccd", False, "rotation")]
    for name, generation, long_text, category in specs:
        rng = random.Random(f"sample/{seed}/{name}")
        payload = make_payload(rng, generation, long_text=long_text)
        card = draw_card(payload, generation, rng)
        if category == "clean":  # the long payload's finer modules get a closer photo
            img = (_photo(card, rng, card_width=1500, scene=(1600, 1200)) if long_text
                   else _photo(card, rng, card_width=700))
        else:
            img = degrade(card, category, 0.2, generation, rng)
        img.save(out / f"{name}.png", format="PNG", optimize=True)
        cases.append(Case(f"{name}.png", category, generation, 0.0, payload))
    # a holder without an old 9-digit ID (born 2003 or later): field 1 empty
    rng = random.Random(f"sample/{seed}/no-old-id")
    payload = ""
    while True:
        payload = make_payload(rng, "cccd")
        if payload.split("|")[1] == "":
            break
    img = _photo(draw_card(payload, "cccd", rng), rng, card_width=700)
    img.save(out / "no-old-id.png", format="PNG", optimize=True)
    cases.append(Case("no-old-id.png", "clean", "cccd", 0.0, payload))
    manifest = {"generator_version": GENERATOR_VERSION, "seed": seed, "cases": [asdict(c) for c in cases]}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="folder to write the degraded set into")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--per-category", type=int, default=12)
    parser.add_argument("--samples", help="write the committed sample images into this folder instead")
    args = parser.parse_args()
    if args.samples:
        cases = write_samples(args.samples)
        print(f"wrote {len(cases)} samples to {args.samples}")
        return
    if not args.out:
        parser.error("--out or --samples is required")
    cases = generate(args.out, seed=args.seed, per_category=args.per_category)
    print(f"wrote {len(cases)} images to {args.out}")


if __name__ == "__main__":
    main()
