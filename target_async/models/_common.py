"""Models shared by the Target APIs (the spec's `common/components`)."""

from __future__ import annotations

from typing import Any

import attrs

from ._base import Model
from ._enums import AuthenticatedState

__all__ = [
    "ABTOrder",
    "CustomerId",
    "Order",
    "Parameters",
    "Preview",
    "Product",
    "QAMode",
    "QAModePreviewIndex",
    "ResponseTokens",
    "UnexpectedError",
    "VisitorId",
]

Parameters = dict[str, str]
"""Mbox or profile parameters: a free-form map of name to string value (at most 50 entries)."""

ResponseTokens = dict[str, Any]
"""Response token name to value (usually a string, a list of strings for category affinity)."""


@attrs.define(kw_only=True, repr=False, eq=False)
class ABTOrder(Model):
    """Order details for ABT activities."""

    id: str | None = None
    decision_stack_id: int | None = None
    total: float | None = None
    time: str | None = None
    """ISO 8601 date-time, kept as the string sent."""
    product_ids: list[int] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class CustomerId(Model):
    """A customer id linked to the visitor (`id`, `integration_code` and state are required)."""

    id: str | None = None
    integration_code: str | None = None
    """The alias set up for the CRS data source in the Marketing Cloud UI."""
    authenticated_state: AuthenticatedState | str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Order(Model):
    """Order details."""

    id: str | None = None
    total: float | None = None
    purchased_product_ids: list[str] | None = None
    time: str | None = None
    """ISO 8601 date-time, kept as the string sent."""
    experience_local_id: int | None = None
    duplicate: bool | None = None
    outlier: bool | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Preview(Model):
    """Enables Preview mode for the request."""

    token: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Product(Model):
    """Product viewed."""

    id: str | None = None
    category_id: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class QAModePreviewIndex(Model):
    """Selects an activity (and optionally an experience) of the QA token, 1-based."""

    activity_index: int | None = None
    experience_index: int | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class QAMode(Model):
    """Enables QA mode for the request."""

    token: str | None = None
    listed_activities_only: bool | None = None
    evaluate_as_true_audience_ids: list[int] | None = None
    evaluate_as_false_audience_ids: list[int] | None = None
    preview_indexes: list[QAModePreviewIndex] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class UnexpectedError(Model):
    """Error body of a 4xx/5xx answer."""

    status: int | None = None
    message: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class VisitorId(Model):
    """Visitor identifiers: a `tnt_id`, `third_party_id` or `marketing_cloud_visitor_id`."""

    tnt_id: str | None = None
    """Target id; the one returned carries the location hint (`<uuid>.<cluster>_<n>`)."""
    third_party_id: str | None = None
    marketing_cloud_visitor_id: str | None = None
    customer_ids: list[CustomerId] | None = None
