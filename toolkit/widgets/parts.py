"""A widget's children by name, for notebooks that drive a widget from code and for tests."""

from __future__ import annotations

from types import SimpleNamespace


class HasParts:
    """Gives ``parts``: the widget's controls and outputs under plain names.

    The children are made as ``_w_<name>`` (controls and outputs) and ``_b_<name>``
    (buttons); ``parts.<name>`` and ``parts.<name>_button`` reach them, e.g.
    ``investigator.parts.number.value = "RB473124829GB"`` then
    ``investigator.parts.investigate_button.click()``.
    """

    @property
    def parts(self) -> SimpleNamespace:
        """The widget's children by name (``number``, ``category``, ``save_button`` …)."""
        named = {}
        for attr in dir(type(self)) + list(vars(self)):
            if attr.startswith("_w_"):
                named[attr[3:]] = getattr(self, attr)
            elif attr.startswith("_b_"):
                named[attr[3:] + "_button"] = getattr(self, attr)
        return SimpleNamespace(**named)
