"""Campaign macros (`${activity.name}`, `${mbox.user}`, ...) in html and actions offers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ._js import js_string

__all__ = ["replace_campaign_macros"]

_MACRO: Final = re.compile(r"\$\{([a-zA-Z0-9_.]*?)\}")
_LEGACY_NAME: Final = re.compile(r"campaign|recipe", re.I)
_LEGACY_NAMES: Final = {"campaign": "activity", "recipe": "experience"}


def _substitute(text: str, meta: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    parameters = detail.get("parameters")
    sources = (meta, detail, parameters if isinstance(parameters, Mapping) else {})

    def value_of(match: re.Match[str]) -> str:
        key = _LEGACY_NAME.sub(
            lambda legacy: _LEGACY_NAMES[legacy.group(0).lower()], match.group(1)
        )
        # `${mbox.user}` names the parameter `user`; `${campaign.recipe.id}` the meta key `experience.id`.
        key = ".".join(part for part in key.split(".")[-2:] if part != "mbox")
        for source in sources:
            if key in source:
                return js_string(source[key])
        return match.group(0)

    return _MACRO.sub(value_of, text)


def replace_campaign_macros(
    options: list[dict[str, Any]], meta: Mapping[str, Any], detail: Mapping[str, Any]
) -> None:
    """Substitute macros in place, in freshly built response options.

    A macro is looked up in the rule's meta, then in the request detail (mbox, view or
    pageLoad), then in its parameters; an unknown macro is left as it is.
    """
    for option in options:
        content = option.get("content")
        if option.get("type") == "html" and isinstance(content, str):
            option["content"] = _substitute(content, meta, detail)
        elif option.get("type") == "actions" and isinstance(content, list):
            for action in content:
                if isinstance(action, dict) and isinstance(action.get("content"), str):
                    action["content"] = _substitute(action["content"], meta, detail)
