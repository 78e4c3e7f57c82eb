"""The content categories of Điều 7, as data: each with its article, its
wording in the regulation (word for word), an English gloss, and the kind
compliance counts it as (Điều 8: propaganda, advertising, emergency).

Điều 7 ("Nội dung thông tin đăng phát trên Cụm Thông tin điện tử công cộng")
has five clauses; clause 2 has seven points (a, b, c, d, đ, e, g), which are
the sub-categories of the ``local`` category. Domain logic only.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleet_server.content.models import Kind, invalid


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    #: e.g. "Điều 7.2.d"
    article: str
    #: the regulation's words
    vi: str
    en: str
    kind: Kind


#: Điều 7's clauses (categories), in the article's order.
CATEGORIES: tuple[Category, ...] = (
    Category(
        "policy",
        "Điều 7.1",
        "Thông tin về đường lối, chủ trương của Đảng, chính sách, pháp luật của Nhà nước,"
        " các quy định của cấp ủy, chính quyền địa phương, những sự kiện quan trọng liên"
        " quan đến người dân ở địa phương",
        "The Party's line and policies, the State's policies and laws, local rules,"
        " important events concerning local people",
        "propaganda",
    ),
    Category(
        "local",
        "Điều 7.2",
        "Những thông tin liên quan đến người dân ở địa phương",
        "Information concerning local people",
        "propaganda",
    ),
    Category(
        "public_access",
        "Điều 7.3",
        "Những thông tin khác theo quy định của pháp luật về tiếp cận thông tin và quy định"
        " của pháp luật về thực hiện dân chủ ở cơ sở",
        "Other information under the law on access to information and on grassroots democracy",
        "propaganda",
    ),
    Category(
        "border_external",
        "Điều 7.4",
        "Đối với Cụm Thông tin điện tử công cộng khu vực cửa khẩu biên giới ưu tiên thông tin"
        " tuyên truyền, thông tin đối ngoại quảng bá hình ảnh tỉnh Lai Châu, hình ảnh đất nước"
        " Việt Nam tới các nước có chung đường biên giới, góp phần xây dựng biên giới quốc gia"
        " hòa bình, hữu nghị, hợp tác và phát triển",
        "Border gates: propaganda and external information promoting Lai Châu and Viet Nam"
        " to the neighbouring countries",
        "propaganda",
    ),
    Category("advertising", "Điều 7.5", "Thông tin quảng cáo", "Advertising", "advertising"),
)

#: Điều 7.2's points: the sub-categories of ``local``.
SUBCATEGORIES: tuple[Category, ...] = (
    Category(
        "projects",
        "Điều 7.2.a",
        "Thông tin về dự án, chương trình phát triển kinh tế, văn hóa, xã hội tại địa phương",
        "Local economic, cultural and social development projects and programmes",
        "propaganda",
    ),
    Category(
        "knowledge",
        "Điều 7.2.b",
        "Thông tin liên quan đến chính trị, kinh tế, văn hóa, xã hội và kiến thức khoa học,"
        " kỹ thuật, công nghệ phục vụ phát triển kinh tế - xã hội của địa phương",
        "Politics, economy, culture, society; science and technology for local development",
        "propaganda",
    ),
    Category(
        "security",
        "Điều 7.2.c",
        "Thông tin liên quan đến an ninh, trật tự, an toàn xã hội và công tác quân sự ở địa phương",
        "Security, public order and safety, local military work",
        "propaganda",
    ),
    Category(
        "disaster",
        "Điều 7.2.d",
        "Thông tin về phòng, chống thiên tai, tìm kiếm, cứu nạn; hỏa hoạn; cấp cứu, dịch bệnh;"
        " thảm họa xẩy ra ở địa phương hoặc có ảnh hưởng đến địa phương",
        "Disaster prevention, search and rescue, fire, first aid, epidemics, catastrophes",
        "emergency",
    ),
    Category(
        "exemplary",
        "Điều 7.2.đ",
        "Thông tin về gương người tốt, việc tốt, nhân tố mới, điển hình tiên tiến trong các"
        " lĩnh vực",
        "Good people and good deeds, new and exemplary models",
        "propaganda",
    ),
    Category(
        "law_enforcement",
        "Điều 7.2.e",
        "Thông tin các biện pháp đấu tranh phòng, chống các hành vi vi phạm pháp luật và các"
        " hiện tượng tiêu cực trong xã hội",
        "Fighting breaches of the law and negative phenomena",
        "propaganda",
    ),
    Category(
        "goods_services",
        "Điều 7.2.g",
        "Thông tin về các sản phẩm, hàng hóa, dịch vụ phục vụ sản xuất và đời sống của người"
        " dân ở cơ sở",
        "Products, goods and services for local people's production and life",
        "propaganda",
    ),
)

BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}
SUB_BY_CODE: dict[str, Category] = {c.code: c for c in SUBCATEGORIES}
#: The category whose points are the sub-categories.
WITH_SUBCATEGORIES = "local"


def classify(category: str, subcategory: str | None) -> Category:
    """The most precise entry for (category, sub-category): a sub-category
    is required for Điều 7.2 and refused elsewhere. ``Invalid`` otherwise."""
    found = BY_CODE.get(category)
    if found is None:
        raise invalid(
            "category", f"unknown category {category[:40]!r}; one of {', '.join(BY_CODE)}"
        )
    if category == WITH_SUBCATEGORIES:
        if not subcategory:
            raise invalid(
                "subcategory",
                f"{found.article} needs a sub-category: one of {', '.join(SUB_BY_CODE)}",
            )
        sub = SUB_BY_CODE.get(subcategory)
        if sub is None:
            raise invalid(
                "subcategory",
                f"unknown sub-category {subcategory[:40]!r}; one of {', '.join(SUB_BY_CODE)}",
            )
        return sub
    if subcategory:
        raise invalid("subcategory", f"{found.article} has no sub-categories")
    return found


def kind_of(category: str, subcategory: str | None) -> Kind:
    """The kind compliance counts an item of this category as (Điều 8):
    advertising for Điều 7.5, emergency for Điều 7.2.d, propaganda else."""
    return classify(category, subcategory).kind


def article_of(category: str | None, subcategory: str | None) -> str | None:
    """The article of a stored (category, sub-category); None when the item
    was approved before categories were recorded."""
    if category is None:
        return None
    if subcategory is not None and subcategory in SUB_BY_CODE:
        return SUB_BY_CODE[subcategory].article
    found = BY_CODE.get(category)
    return found.article if found else None
