"""Province codes: the first 3 digits of the 12-digit personal ID number.

The code records where the citizen's birth was registered (Decree 137/2015/ND-CP Art. 13; the table is
Annex I of Circular 07/2016/TT-BCA, "Bảng danh mục mã tỉnh, thành phố trực thuộc trung ương nơi công
dân đăng ký khai sinh"). The personal ID number never changes, so the table of the 63 provinces and
centrally-run cities of 2016 stays the key to every number issued under it, whatever later mergers
did to the provinces themselves.

Citizens whose birth was registered abroad get a *country* code instead (same Decree, Art. 13). That
table is not reproduced in any source this project relies on, so a code outside the table below is
reported as "unknown" (a warning on a scanned record), never rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

PROVINCE_CODES: Mapping[str, str] = MappingProxyType(
    {
        "001": "Hà Nội",
        "002": "Hà Giang",
        "004": "Cao Bằng",
        "006": "Bắc Kạn",
        "008": "Tuyên Quang",
        "010": "Lào Cai",
        "011": "Điện Biên",
        "012": "Lai Châu",
        "014": "Sơn La",
        "015": "Yên Bái",
        "017": "Hòa Bình",
        "019": "Thái Nguyên",
        "020": "Lạng Sơn",
        "022": "Quảng Ninh",
        "024": "Bắc Giang",
        "025": "Phú Thọ",
        "026": "Vĩnh Phúc",
        "027": "Bắc Ninh",
        "030": "Hải Dương",
        "031": "Hải Phòng",
        "033": "Hưng Yên",
        "034": "Thái Bình",
        "035": "Hà Nam",
        "036": "Nam Định",
        "037": "Ninh Bình",
        "038": "Thanh Hóa",
        "040": "Nghệ An",
        "042": "Hà Tĩnh",
        "044": "Quảng Bình",
        "045": "Quảng Trị",
        "046": "Thừa Thiên Huế",
        "048": "Đà Nẵng",
        "049": "Quảng Nam",
        "051": "Quảng Ngãi",
        "052": "Bình Định",
        "054": "Phú Yên",
        "056": "Khánh Hòa",
        "058": "Ninh Thuận",
        "060": "Bình Thuận",
        "062": "Kon Tum",
        "064": "Gia Lai",
        "066": "Đắk Lắk",
        "067": "Đắk Nông",
        "068": "Lâm Đồng",
        "070": "Bình Phước",
        "072": "Tây Ninh",
        "074": "Bình Dương",
        "075": "Đồng Nai",
        "077": "Bà Rịa - Vũng Tàu",
        "079": "Hồ Chí Minh",
        "080": "Long An",
        "082": "Tiền Giang",
        "083": "Bến Tre",
        "084": "Trà Vinh",
        "086": "Vĩnh Long",
        "087": "Đồng Tháp",
        "089": "An Giang",
        "091": "Kiên Giang",
        "092": "Cần Thơ",
        "093": "Hậu Giang",
        "094": "Sóc Trăng",
        "095": "Bạc Liêu",
        "096": "Cà Mau",
    }
)
"""Province code -> province name (NFC, with diacritics), Circular 07/2016/TT-BCA Annex I."""


def province_name(code: str) -> str | None:
    """The province for a 3-digit code or a 12-digit ID number; ``None`` when not in the table."""
    if not isinstance(code, str):
        return None
    return PROVINCE_CODES.get(code[:3]) if len(code) in (3, 12) else None


def is_province_code(code: str) -> bool:
    """True when ``code`` is one of the 63 domestic birth-registration codes."""
    return isinstance(code, str) and code in PROVINCE_CODES
