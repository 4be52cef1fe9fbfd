"""The appeal dialog's step order, kept apart from Telegram so it can be tested alone.

A step with one possible answer (an akimat deployed for one region or one district) is
filled in and skipped, forward and backward.
"""

from __future__ import annotations

from typing import Any

from bot.domain.catalog import Catalog
from bot.domain.validation import check_full_name

STEPS = (
    "kind",
    "category",
    "region",
    "district",
    "text",
    "attachments",
    "location",
    "name",  # who is appealing: the law does not consider anonymous appeals
    "contact",
    "address",  # optional: where a written answer goes
    "review",
)
EDITABLE = (
    "kind", "category", "region", "text", "attachments", "location", "name", "contact", "address",
)  # fmt: skip


# A field the review finds missing (a draft from before a deploy), and the step asking it.
FIELD_STEPS = {"contact_name": "name", "contact_phone": "contact"}


def step_asking(field: str) -> str:
    return FIELD_STEPS.get(field, field)


def name_suggestion(draft: dict[str, Any]) -> tuple[str | None, bool]:
    """What «Correct» confirms at the name step: the name given before (back from a later
    step, or editing from the review), else the Telegram profile's if it is a full name.
    Returns (name or None, whether it is Telegram's)."""
    for key, from_telegram in (("contact_name", False), ("profile_name", True)):
        checked = check_full_name(draft.get(key) or "")
        if checked.problem is None:
            return checked.name, from_telegram
    return None, False


def autofill(step: str, draft: dict[str, Any], catalog: Catalog) -> bool:
    """Fill a step that has one choice; True when the step can be skipped."""
    territory = catalog.territory
    if step == "region" and len(territory.regions) == 1:
        draft["region"] = territory.regions[0].code
        return True
    if step == "district" and draft.get("region"):
        districts = territory.districts_of(draft["region"])
        if len(districts) == 1:
            draft["district"] = districts[0].code
            return True
    return False


def next_step(current: str, draft: dict[str, Any], catalog: Catalog, editing: bool) -> str:
    # Editing one field returns to the review, except that a new region needs its district.
    if editing and current != "region":
        return "review"
    index = STEPS.index(current) + 1
    while autofill(STEPS[index], draft, catalog):
        index += 1
    return STEPS[index]


def previous_step(current: str, draft: dict[str, Any], catalog: Catalog) -> str | None:
    """None when the citizen steps back out of the dialog."""
    index = STEPS.index(current) - 1
    while index >= 0 and autofill(STEPS[index], draft, catalog):
        index -= 1
    return STEPS[index] if index >= 0 else None


def first_step() -> str:
    return STEPS[0]
