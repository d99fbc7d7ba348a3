"""Imports from the package: a misspelt name is an error, not `Any` (tests/test_typing.py)."""

from __future__ import annotations

from typing_extensions import reveal_type

import target_async
from target_async import DelivryRequest  # E: Module "target_async" has no attribute "DelivryRequest"
from target_async.decisioning import compile_artefact  # E: Module "target_async.decisioning" has no attribute "compile_artefact"
from target_async.models import MboxReqest  # E: Module "target_async.models" has no attribute "MboxReqest"

target_async.AsyncTargetClent  # E: Module has no attribute "AsyncTargetClent"
reveal_type(target_async.DeliveryRequest(execute=target_async.ExecuteRequest()))  # R: target_async.models._request.DeliveryRequest
reveal_type(target_async.__version__)  # R: str
