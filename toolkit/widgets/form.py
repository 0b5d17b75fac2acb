"""The finding form both widgets record findings with."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from toolkit.errors import InputError
from toolkit.findings.store import COMPENSATION_KINDS, STATUSES
from toolkit.model import CATEGORIES
from toolkit.widgets.parts import HasParts

CURRENCIES = ("CNY", "USD", "EUR", "GBP", "JPY", "KRW", "AUD", "CAD", "HKD")


# ------------------------------------------------------------------ the finding form


class FindingForm(HasParts):
    """Fields of a finding; ``values()`` gives the keyword arguments of FindingsStore.add."""

    def __init__(self, analyst: str = "", free_actions: bool = False):
        full = w.Layout(width="95%")
        style = {"description_width": "130px"}

        def text(description: str, placeholder: str | None = None) -> w.Textarea:
            """A full-width text box (with the widget's own placeholder when none is given)."""
            hint = {} if placeholder is None else {"placeholder": placeholder}
            return w.Textarea(description=description, layout=full, style=style, **hint)

        self._w_category = w.Dropdown(options=list(CATEGORIES), description="Category", style=style)
        self._w_root_cause = text("Root cause")
        self._w_actions = text("Actions taken", "one per line")
        self._w_buyer = w.Checkbox(description="Buyer contacted", value=False, indent=False)
        self._w_comp_kind = w.Dropdown(
            options=[("none", ""), *((k.replace("_", " "), k) for k in COMPENSATION_KINDS)],
            value="",
            description="Compensation",
            style=style,
        )
        self._w_comp_amount = w.BoundedFloatText(
            value=0.0, min=0.0, max=1e9, step=1.0, description="Amount", style=style
        )
        self._w_comp_currency = w.Dropdown(options=CURRENCIES, value="CNY", description="Currency")
        self._w_notes = text("Notes")
        self._w_internal = text("Internal notes", "kept out of anything shared with partners")
        self._w_analyst = w.Text(value=analyst, description="Analyst", style=style)
        self._w_status = w.Dropdown(options=STATUSES, value="open", description="Status")
        self._w_follow_up = w.DatePicker(description="Follow up", style=style)
        children = [
            w.HBox([self._w_category, self._w_status]),
            self._w_root_cause,
        ]
        if free_actions:
            children.append(self._w_actions)
        children += [
            self._w_buyer,
            w.HBox([self._w_comp_kind, self._w_comp_amount, self._w_comp_currency]),
            self._w_notes,
            self._w_internal,
            w.HBox([self._w_analyst, self._w_follow_up]),
        ]
        self.layout = w.VBox(children)

    def clear(self) -> None:
        """Empty the form for the next finding (the analyst and the category stay)."""
        for box in (self._w_root_cause, self._w_actions, self._w_notes, self._w_internal):
            box.value = ""
        self._w_buyer.value = False
        self._w_comp_kind.value = ""
        self._w_comp_amount.value = 0.0
        self._w_comp_currency.value = "CNY"
        self._w_status.value = "open"
        self._w_follow_up.value = None

    def preset(self, category: str | None) -> None:
        """Start the form from a diagnosis category."""
        if category in CATEGORIES:
            self._w_category.value = category

    def values(self, actions_taken: list[str] | None = None) -> dict[str, Any]:
        """The form as FindingsStore.add keyword arguments (actions from the box if not given)."""
        analyst = self._w_analyst.value.strip()
        if not analyst:
            raise InputError(
                "the analyst is empty", "finding form", "Type your name in the Analyst box"
            )
        if actions_taken is None:
            actions_taken = [a.strip() for a in self._w_actions.value.splitlines() if a.strip()]
        out: dict[str, Any] = {
            "category": self._w_category.value,
            "analyst": analyst,
            "notes": self._w_notes.value.strip(),
            "internal_notes": self._w_internal.value.strip(),
            "root_cause": self._w_root_cause.value.strip(),
            "actions_taken": list(actions_taken),
            "buyer_contacted": bool(self._w_buyer.value),
            "status": self._w_status.value,
        }
        if self._w_comp_kind.value:
            out["compensation_kind"] = self._w_comp_kind.value
            out["compensation_amount"] = float(self._w_comp_amount.value)
            out["compensation_currency"] = self._w_comp_currency.value
        if self._w_follow_up.value is not None:
            out["follow_up"] = self._w_follow_up.value
        return out
