"""The converter on a typical request and response, and stdlib json next to orjson."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable

from benchmarks._harness import Row, Settings, median, row
from benchmarks.edge_server import TYPICAL_REQUEST, canned_response
from target_async import DeliveryRequest, DeliveryResponse, _serde

__all__ = ["run"]


def _per_op_us(action: Callable[[], object], settings: Settings) -> float:
    """Median over runs of the CPU microseconds one call of `action` takes."""
    samples = []
    for _ in range(max(settings.runs, 3)):
        started = time.process_time()
        for _ in range(settings.micro_repeat):
            action()
        samples.append((time.process_time() - started) / settings.micro_repeat * 1e6)
    return median(samples)


def run(settings: Settings) -> list[Row]:
    response_bytes = canned_response()
    response_data = json.loads(response_bytes)
    request = _serde.structure(TYPICAL_REQUEST, DeliveryRequest)
    request_data = _serde.unstructure(request)
    _serde.warm_up()

    def cell(name: str, action: Callable[[], object], reference: Row | None = None) -> Row:
        value = _per_op_us(action, settings)
        if reference is None:
            return row(name, value, "µs/op", group="converter")
        return row(
            name,
            value,
            "µs/op",
            value / reference["value"],
            reference["scenario"],
            group="converter",
        )

    rows = [
        cell(
            "structure a typical DeliveryResponse",
            lambda: _serde.structure(response_data, DeliveryResponse),
        ),
        cell("unstructure a typical DeliveryRequest", lambda: _serde.unstructure(request)),
    ]
    stdlib_dumps = cell("_serde.dumps(request model), stdlib json", lambda: _serde.dumps(request))
    stdlib_loads = cell("_serde.loads(response), stdlib json", lambda: _serde.loads(response_bytes))
    rows += [stdlib_dumps, stdlib_loads]
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        return rows
    # The same work with orjson (a ratio below 1: orjson is cheaper).
    rows.append(
        cell(
            "unstructure + orjson.dumps(request model)",
            lambda: orjson.dumps(_serde.unstructure(request)),
            stdlib_dumps,
        )
    )
    rows.append(cell("orjson.loads(response)", lambda: orjson.loads(response_bytes), stdlib_loads))
    rows.append(
        cell("json.dumps(request dict), for scale", lambda: json.dumps(request_data).encode())
    )
    return rows
