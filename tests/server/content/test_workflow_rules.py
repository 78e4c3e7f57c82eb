"""The workflow's transition table (Điều 10.1.a): every valid step, every
invalid one refused as a Conflict that names the state and what may follow.

Điều 10.1.a: the Department "Chủ trì tiếp nhận thông tin, thẩm định, biên tập,
cập nhật thông tin lên các Cụm Thông tin điện tử công cộng khu vực biên giới
vào các ngày làm việc trong tuần, đảm bảo theo quy định của pháp luật."
"""

from __future__ import annotations

import pytest

from fleet_server.content.workflow import ACTIONS, STATES, TRANSITIONS, actions_from, next_state
from fleet_server.errors import Conflict

VALID = {
    ("start_appraisal", "submitted"): "under_appraisal",
    ("approve", "under_appraisal"): "approved",
    ("return", "under_appraisal"): "returned",
    ("resubmit", "returned"): "submitted",
    ("retire", "approved"): "retired",
    ("retire", "returned"): "retired",
}


@pytest.mark.parametrize(("action", "state"), list(VALID))
def test_each_valid_transition(action: str, state: str) -> None:
    assert next_state(action, state, 7) == VALID[(action, state)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("action", "state"),
    [(a, s) for a in TRANSITIONS for s in STATES if (a, s) not in VALID],
)
def test_each_invalid_transition_is_a_conflict(action: str, state: str) -> None:
    with pytest.raises(Conflict) as caught:
        next_state(action, state, 7)  # type: ignore[arg-type]
    message = caught.value.detail
    assert message.startswith("content submission 7 is ")
    assert action.replace("_", " ") in message
    assert caught.value.extra == {"reason": "state", "state": state}


def test_retired_is_the_end() -> None:
    assert actions_from("retired") == []
    with pytest.raises(Conflict, match="nothing follows it"):
        next_state("approve", "retired", 3)
    assert set(ACTIONS) == {"submit", *TRANSITIONS}
