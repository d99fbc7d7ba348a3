"""`get_attributes()` results: the JSON offers of each mbox, merged into one attribute map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._exceptions import AttributeNotFoundError

if TYPE_CHECKING:
    from ._delivery import TargetDeliveryResponse

__all__ = ["AttributesProvider"]


class AttributesProvider:
    """Reads feature-flag style attributes from the JSON offers of a response.

    For each mbox, every JSON option (prefetched first, then executed) is merged into one
    map, later keys winning, as the official SDKs do.
    """

    def __init__(self, response: TargetDeliveryResponse) -> None:
        self._response = response
        self._indexed: dict[str, dict[str, Any]] = {}
        delivery = response.response
        groups = [
            delivery.prefetch.mboxes if delivery.prefetch is not None else None,
            delivery.execute.mboxes if delivery.execute is not None else None,
        ]
        for mboxes in groups:
            for mbox in mboxes or []:
                if not mbox.name:
                    continue
                attributes = self._indexed.setdefault(mbox.name, {})
                for option in mbox.options or []:
                    if option.type == "json" and isinstance(option.content, dict):
                        attributes.update(option.content)

    def get_value(self, mbox: str, key: str) -> Any:
        """The value of attribute `key` of `mbox`; raises `AttributeNotFoundError` if absent."""
        attributes = self._indexed.get(mbox)
        if attributes is None or key not in attributes:
            raise AttributeNotFoundError(mbox, key)
        return attributes[key]

    def as_object(self, mbox: str | None = None) -> dict[str, Any]:
        """A copy of one mbox's attributes, or of all mboxes' attributes by mbox name."""
        if mbox is not None:
            return dict(self._indexed.get(mbox, {}))
        return {name: dict(values) for name, values in self._indexed.items()}

    def to_json(self) -> dict[str, Any]:
        return self.as_object()

    def get_response(self) -> TargetDeliveryResponse:
        """The full `get_offers` result the attributes were read from."""
        return self._response

    def __repr__(self) -> str:
        return f"AttributesProvider({self._indexed!r})"
