"""Synthetic portraits: a face-like drawing, deterministic for a seed (no real person)."""

from __future__ import annotations

import io
import random


def draw_portrait(seed: str, *, female: bool = False, grey: bool = False, size: tuple[int, int] = (240, 320),
                  fmt: str = "JPEG", quality: int = 85) -> bytes:
    """A simple face-like drawing (no real person), deterministic for a seed, as JPEG or JPEG 2000.

    Light background, head, hair, eyes, nose, mouth and shoulders, softened and with faint sensor
    noise so that the JPEG has the size of a chip portrait (~10-15 KB at 240x320).
    """
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    top = (rnd.randint(225, 245), rnd.randint(235, 250), 255)
    bottom = (rnd.randint(200, 225), rnd.randint(215, 235), rnd.randint(240, 255))
    for y in range(h):
        t = y / (h - 1)
        d.line([(0, y), (w, y)], fill=tuple(int(top[i] * (1 - t) + bottom[i] * t) for i in range(3)))
    skin = rnd.choice([(241, 194, 155), (224, 172, 130), (198, 145, 105), (232, 185, 140)])
    hair = (150, 150, 150) if grey else rnd.choice([(25, 20, 18), (40, 30, 25), (60, 45, 35)])
    shirt = rnd.choice([(245, 245, 245), (40, 60, 110), (30, 30, 35), (120, 30, 40)])
    shade = tuple(max(0, c - 15) for c in skin)
    cx = w // 2 + rnd.randint(-6, 6)
    sx, sy = w / 240, h / 320
    d.ellipse([cx - 115 * sx, h * 0.78, cx + 115 * sx, h * 1.25], fill=shirt)
    d.rectangle([cx - 24 * sx, h * 0.58, cx + 24 * sx, h * 0.82], fill=shade)
    hw, hh = rnd.randint(74, 84) * sx, rnd.randint(92, 100) * sy
    cy = h * 0.40
    if female:
        d.rounded_rectangle([cx - hw - 6 * sx, cy - hh + 4 * sy, cx + hw + 6 * sx, cy + hh + 40 * sy],
                            radius=int(60 * sx), fill=hair)
    d.ellipse([cx - hw, cy - hh - 6 * sy, cx + hw, cy + hh - 30 * sy], fill=hair)
    fw, fh = hw - 12 * sx, hh - 8 * sy
    d.ellipse([cx - fw, cy - fh + 14 * sy, cx + fw, cy + fh], fill=skin)
    d.ellipse([cx - fw - 10 * sx, cy - 8 * sy, cx - fw + 8 * sx, cy + 26 * sy], fill=skin)
    d.ellipse([cx + fw - 8 * sx, cy - 8 * sy, cx + fw + 10 * sx, cy + 26 * sy], fill=skin)
    d.chord([cx - fw - 2 * sx, cy - fh - 10 * sy, cx + fw + 2 * sx, cy - fh + 70 * sy], 180, 360, fill=hair)
    ey = cy + rnd.randint(-4, 4) * sy
    for side in (-1, 1):
        ex = cx + side * 30 * sx
        d.ellipse([ex - 13 * sx, ey - 6 * sy, ex + 13 * sx, ey + 6 * sy], fill=(250, 250, 250))
        d.ellipse([ex - 6 * sx, ey - 6 * sy, ex + 6 * sx, ey + 6 * sy], fill=(45, 30, 25))
        d.line([ex - 15 * sx, ey - 16 * sy, ex + 15 * sx, ey - (18 - rnd.randint(0, 3)) * sy],
               fill=hair if not grey else (110, 110, 110), width=max(1, int(4 * sx)))
    nose = tuple(max(0, c - 45) for c in skin)
    d.line([cx, ey + 8 * sy, cx - 5 * sx, ey + 34 * sy, cx + 4 * sx, ey + 36 * sy], fill=nose,
           width=max(1, int(3 * sx)))
    my = ey + 58 * sy
    d.arc([cx - 22 * sx, my - 10 * sy, cx + 22 * sx, my + 8 * sy], 20, 160, fill=(150, 70, 70),
          width=max(1, int(4 * sx)))
    img = img.filter(ImageFilter.GaussianBlur(1.1))
    grain = Image.frombytes("L", size, bytes(128 + rnd.randint(-5, 5) for _ in range(w * h)))
    img = ImageChops.add(img, Image.merge("RGB", (grain, grain, grain)), offset=-128)
    out = io.BytesIO()
    if fmt.upper() in ("JP2", "JPEG2000"):
        img.save(out, "JPEG2000", quality_mode="rates", quality_layers=[40], irreversible=True)
    else:
        img.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
