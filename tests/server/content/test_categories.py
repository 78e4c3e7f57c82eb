"""The categories of Điều 7 as data, and the kind compliance counts each as.

Điều 7 ("Nội dung thông tin đăng phát trên Cụm Thông tin điện tử công cộng"):
"1. Thông tin về đường lối, chủ trương của Đảng, chính sách, pháp luật của Nhà
nước, …; 2. Những thông tin liên quan đến người dân ở địa phương: a) … g) …;
3. Những thông tin khác theo quy định của pháp luật về tiếp cận thông tin …;
4. Đối với Cụm Thông tin điện tử công cộng khu vực cửa khẩu biên giới ưu tiên
thông tin tuyên truyền, thông tin đối ngoại …; 5. Thông tin quảng cáo."
"""

from __future__ import annotations

from typing import get_args

import pytest

from fleet_server.content.categories import (
    BY_CODE,
    CATEGORIES,
    SUB_BY_CODE,
    SUBCATEGORIES,
    article_of,
    classify,
    kind_of,
)
from fleet_server.content.models import ContentError
from fleet_server.content.obligations import OBLIGATIONS
from fleet_server.content.schemas_workflow import (
    CategoryCode,
    ObligationName,
    StateName,
    SubcategoryCode,
)
from fleet_server.content.workflow import STATES


def test_every_clause_and_point_of_article_7_with_its_reference() -> None:
    assert [c.article for c in CATEGORIES] == [f"Điều 7.{n}" for n in range(1, 6)]
    assert [c.article for c in SUBCATEGORIES] == [
        f"Điều 7.2.{p}" for p in ("a", "b", "c", "d", "đ", "e", "g")
    ]
    assert BY_CODE["advertising"].vi == "Thông tin quảng cáo"
    assert SUB_BY_CODE["disaster"].vi.startswith("Thông tin về phòng, chống thiên tai")


def test_the_api_types_match_the_data() -> None:
    assert set(get_args(CategoryCode)) == set(BY_CODE)
    assert set(get_args(SubcategoryCode)) == set(SUB_BY_CODE)
    assert set(get_args(StateName)) == set(STATES)
    assert set(get_args(ObligationName)) == set(OBLIGATIONS)


@pytest.mark.parametrize(
    ("category", "sub", "kind"),
    [
        ("policy", None, "propaganda"),
        ("local", "projects", "propaganda"),
        ("local", "security", "propaganda"),
        ("local", "disaster", "emergency"),  # Điều 7.2.d, cf. Điều 8.2
        ("public_access", None, "propaganda"),
        ("border_external", None, "propaganda"),
        ("advertising", None, "advertising"),  # Điều 7.5, cf. Điều 8.3
    ],
)
def test_the_kind_compliance_uses_is_derived_from_the_category(
    category: str, sub: str | None, kind: str
) -> None:
    assert kind_of(category, sub) == kind


@pytest.mark.parametrize(
    ("category", "sub", "field", "message"),
    [
        ("news", None, "category", "unknown category"),
        ("local", None, "subcategory", "needs a sub-category"),
        ("local", "gossip", "subcategory", "unknown sub-category"),
        ("policy", "projects", "subcategory", "has no sub-categories"),
    ],
)
def test_a_bad_category_names_the_field(
    category: str, sub: str | None, field: str, message: str
) -> None:
    with pytest.raises(ContentError, match=message) as caught:
        classify(category, sub)
    assert caught.value.field == field
    assert caught.value.status == 422


def test_article_of_a_stored_item() -> None:
    assert article_of("local", "exemplary") == "Điều 7.2.đ"
    assert article_of("policy", None) == "Điều 7.1"
    assert article_of(None, None) is None
