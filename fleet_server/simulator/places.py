"""Sites of the simulated fleet: Lai Châu's border gates and district centres.

Coordinates are approximate (good enough for a map of the province, not for
navigation). Border-gate boards belong to the Economic Zone Management Board
and their cameras to the Border Guard; district boards to the district
People's Committees.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Organisation:
    code: str
    name: str
    name_en: str
    kind: str


@dataclass(frozen=True, slots=True)
class Place:
    code: str
    name: str
    name_en: str
    kind: str  # border_gate | district_centre | city
    district: str
    latitude: float
    longitude: float
    organisation: str  # Organisation.code

    @property
    def is_border(self) -> bool:
        return self.kind == "border_gate"


SO_TTTT = Organisation(
    "so-tttt",
    "Sở Thông tin và Truyền thông tỉnh Lai Châu",
    "Lai Chau Department of Information and Communications",
    "provincial_department",
)
BQL_KKT = Organisation(
    "bql-kkt",
    "Ban Quản lý Khu kinh tế tỉnh Lai Châu",
    "Lai Chau Economic Zone Management Board",
    "economic_zone_board",
)
BDBP = Organisation(
    "bdbp",
    "Bộ Chỉ huy Bộ đội Biên phòng tỉnh Lai Châu",
    "Lai Chau Border Guard Command",
    "border_guard",
)


def _district_org(code: str, name: str) -> Organisation:
    return Organisation(
        f"ubnd-{code}",
        f"UBND huyện {name}",
        f"{name} District People's Committee",
        "district_committee",
    )


DISTRICTS = {
    "phong-tho": "Phong Thổ",
    "sin-ho": "Sìn Hồ",
    "muong-te": "Mường Tè",
    "nam-nhun": "Nậm Nhùn",
    "tam-duong": "Tam Đường",
    "tan-uyen": "Tân Uyên",
    "than-uyen": "Than Uyên",
}

ORGANISATIONS: list[Organisation] = [
    SO_TTTT,
    BQL_KKT,
    BDBP,
    *(_district_org(code, name) for code, name in DISTRICTS.items()),
    Organisation(
        "ubnd-tp-lai-chau",
        "UBND thành phố Lai Châu",
        "Lai Chau City People's Committee",
        "district_committee",
    ),
]

PLACES: list[Place] = [
    Place(
        "ma-lu-thang",
        "Cửa khẩu quốc tế Ma Lù Thàng",
        "Ma Lu Thang international border gate",
        "border_gate",
        "Phong Thổ",
        22.618,
        103.349,
        BQL_KKT.code,
    ),
    Place(
        "u-ma-tu-khoong",
        "Cửa khẩu U Ma Tu Khoòng",
        "U Ma Tu Khoong border gate",
        "border_gate",
        "Phong Thổ",
        22.705,
        103.560,
        BQL_KKT.code,
    ),
    Place(
        "pa-nam-cum",
        "Cửa khẩu Pa Nậm Cúm",
        "Pa Nam Cum border gate",
        "border_gate",
        "Phong Thổ",
        22.545,
        103.270,
        BQL_KKT.code,
    ),
    Place(
        "mu-ca",
        "Cửa khẩu Mù Cả",
        "Mu Ca border crossing",
        "border_gate",
        "Mường Tè",
        22.560,
        102.520,
        BQL_KKT.code,
    ),
    Place(
        "phong-tho",
        "Trung tâm huyện Phong Thổ",
        "Phong Tho district centre",
        "district_centre",
        "Phong Thổ",
        22.522,
        103.345,
        "ubnd-phong-tho",
    ),
    Place(
        "sin-ho",
        "Trung tâm huyện Sìn Hồ",
        "Sin Ho district centre",
        "district_centre",
        "Sìn Hồ",
        22.360,
        103.240,
        "ubnd-sin-ho",
    ),
    Place(
        "muong-te",
        "Trung tâm huyện Mường Tè",
        "Muong Te district centre",
        "district_centre",
        "Mường Tè",
        22.375,
        102.820,
        "ubnd-muong-te",
    ),
    Place(
        "nam-nhun",
        "Trung tâm huyện Nậm Nhùn",
        "Nam Nhun district centre",
        "district_centre",
        "Nậm Nhùn",
        22.150,
        102.870,
        "ubnd-nam-nhun",
    ),
    Place(
        "tam-duong",
        "Trung tâm huyện Tam Đường",
        "Tam Duong district centre",
        "district_centre",
        "Tam Đường",
        22.340,
        103.610,
        "ubnd-tam-duong",
    ),
    Place(
        "tan-uyen",
        "Trung tâm huyện Tân Uyên",
        "Tan Uyen district centre",
        "district_centre",
        "Tân Uyên",
        22.170,
        103.750,
        "ubnd-tan-uyen",
    ),
    Place(
        "than-uyen",
        "Trung tâm huyện Than Uyên",
        "Than Uyen district centre",
        "district_centre",
        "Than Uyên",
        21.955,
        103.885,
        "ubnd-than-uyen",
    ),
    Place(
        "tp-lai-chau",
        "Thành phố Lai Châu",
        "Lai Chau city",
        "city",
        "Lai Châu",
        22.396,
        103.458,
        "ubnd-tp-lai-chau",
    ),
]

#: Local-time broadcast windows (Điều 8.1: ≥ 3 h morning + 3 h afternoon).
DEFAULT_WINDOWS = (("morning", "06:30", "09:30"), ("afternoon", "16:30", "19:30"))
