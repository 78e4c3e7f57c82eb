"""The content workflow of Điều 10.1.a as a table: which action takes a
submission from which state to which. Domain logic only.

Điều 10.1.a: the Department "Tiếp nhận các sản phẩm truyền thông do các cơ
quan, đơn vị, địa phương gửi đến" and "Chủ trì tiếp nhận thông tin, thẩm định,
biên tập, cập nhật thông tin lên các Cụm Thông tin điện tử công cộng khu vực
biên giới" — receives what units send, appraises, edits, publishes.

    submitted --start_appraisal--> under_appraisal --approve--> approved --retire--> retired
        ^                               |
        +---------resubmit---- returned <--return--+
                                  |
                                  +--retire--> retired
"""

from __future__ import annotations

from typing import Literal, get_args

from fleet_server.errors import Conflict

State = Literal["submitted", "under_appraisal", "approved", "returned", "retired"]
STATES: tuple[State, ...] = get_args(State)
Action = Literal["submit", "start_appraisal", "approve", "return", "resubmit", "retire"]
ACTIONS: tuple[Action, ...] = get_args(Action)

#: action -> (states it may start from, state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[State], State]] = {
    "start_appraisal": (frozenset({"submitted"}), "under_appraisal"),
    "approve": (frozenset({"under_appraisal"}), "approved"),
    "return": (frozenset({"under_appraisal"}), "returned"),
    "resubmit": (frozenset({"returned"}), "submitted"),
    "retire": (frozenset({"approved", "returned"}), "retired"),
}


class StepRefused(Conflict):
    """The action does not apply in the submission's state (someone else may
    have just taken it): its own page message in the console."""

    kind = "content-state"


#: What the states are called in an error message.
_NAMES: dict[str, str] = {
    "submitted": "submitted",
    "under_appraisal": "under appraisal",
    "approved": "approved",
    "returned": "returned with comments",
    "retired": "retired",
}


def next_state(action: Action, current: str, submission_id: int) -> State:
    """The state ``action`` leads to from ``current``; Conflict, naming
    both and what is possible, when the action does not apply."""
    sources, target = TRANSITIONS[action]
    if current in sources:
        return target
    possible = [a for a, (src, _) in TRANSITIONS.items() if current in src]
    hint = f"; from there: {', '.join(possible)}" if possible else "; nothing follows it"
    allowed = " or ".join(_NAMES[s] for s in STATES if s in sources)
    raise StepRefused(
        f"content submission {submission_id} is {_NAMES.get(current, current)}:"
        f" {action.replace('_', ' ')} needs it {allowed}{hint}",
        reason="state",
        state=current,
    )


def actions_from(state: str) -> list[Action]:
    """The actions possible from ``state``, in the table's order."""
    return [a for a, (sources, _) in TRANSITIONS.items() if state in sources]
