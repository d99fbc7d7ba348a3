"""Import time of `target_async` next to `httpx` alone, each in fresh interpreters.

The time is measured inside the child around the statement, so interpreter start-up is
not counted. `-X importtime` of one more child names what dominates first use.

"First use + first conversion" also times what lazy imports only postpone: building a
typical request, unstructuring it and structuring a typical response with the converter
the client uses (cattrs and the hooks are loaded and generated then).
"""

from __future__ import annotations

import compileall
import json
import subprocess
import sys

from benchmarks._harness import ROOT, Row, Settings, median, row

__all__ = [
    "DEPENDENCIES",
    "FIRST_CONVERSION",
    "FIRST_USE",
    "WITHOUT_CLICK",
    "dominant_imports",
    "import_ms",
    "run",
]

_PROBE = (
    "{setup}\nimport time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
)
# `target_async` loads its names on first use: this is what a server-side app really pays.
FIRST_USE = "from target_async import AsyncTargetClient, DeliveryRequest"
# What first use cannot go below: the dependencies it needs loaded (the models are attrs
# classes, the client runs on anyio).
DEPENDENCIES = "import httpx, attrs, anyio"
# httpx's `__init__` imports its command-line tool, which loads click and pygments when they
# are installed (here they come with the dev tools). An install with only the runtime
# dependencies has neither: with click absent, httpx skips the tool.
WITHOUT_CLICK = "import sys; sys.modules['click'] = None"
# The request of `benchmarks.edge_server.TYPICAL_REQUEST`, built as an app builds it.
FIRST_CONVERSION = f"""{FIRST_USE}
from target_async import (
    Address, Browser, ChannelType, Context, DeliveryResponse, ExecuteRequest, MboxRequest, Screen,
)
from target_async import _serde
request = DeliveryRequest(
    context=Context(
        channel=ChannelType.WEB,
        address=Address(url="https://shop.example.com/products/42", referring_url="https://www.example.com/"),
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36",
        screen=Screen(width=1920, height=1080),
        browser=Browser(host="shop.example.com"),
    ),
    execute=ExecuteRequest(
        mboxes=[
            MboxRequest(name="home", index=1, parameters={{"category": "shoes", "size": "42"}}),
            MboxRequest(name="feature-flags", index=2),
        ]
    ),
)
_serde.unstructure(request)
_serde.structure(response, DeliveryResponse)"""


def import_ms(module: str, statement: str | None = None, setup: str = "") -> float:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE.format(setup=setup, statement=statement or f"import {module}"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(completed.stdout.strip()) * 1000


def _typical_response_setup() -> str:
    """A child statement binding `response`: the edge's answer to the typical request."""
    # Imported here: it loads the test edge, which an import benchmark must not pay for.
    from benchmarks.edge_server import canned_response

    return f"response = {json.loads(canned_response())!r}"


def dominant_imports(statement: str = FIRST_USE, top: int = 12) -> list[tuple[str, float, float]]:
    """(module, self ms, cumulative ms) of the slowest imports `statement` makes, by self time."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    entries = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (
            part.strip() for part in line[len("import time:") :].split("|")
        )
        entries.append((name, int(self_us) / 1000, int(cumulative_us) / 1000))
    entries.sort(key=lambda entry: entry[1], reverse=True)
    return entries[:top]


def _compile_ahead() -> None:
    """Write the bytecode of `target_async`, as installing a package does.

    httpx is imported from the `.pyc` files pip wrote; without this, a machine with
    PYTHONDONTWRITEBYTECODE set (or a fresh checkout) would compile our sources in every
    child and the ratio would compare compiling with loading.
    """
    compileall.compile_dir(ROOT / "target_async", quiet=1)


def run(settings: Settings, log: list[str]) -> list[Row]:
    _compile_ahead()
    response_setup = _typical_response_setup()
    ours: list[float] = []
    first_use: list[float] = []
    conversion: list[float] = []
    httpx: list[float] = []
    dependencies: list[float] = []
    ratios: list[float] = []
    first_use_ratios: list[float] = []
    conversion_ratios: list[float] = []
    dependency_ratios: list[float] = []
    httpx_alone: list[float] = []
    httpx_alone_ratios: list[float] = []
    first_use_alone: list[float] = []
    first_use_alone_ratios: list[float] = []
    dependencies_alone: list[float] = []
    dependency_alone_ratios: list[float] = []
    for _ in range(settings.import_runs):
        # Alternate so all see the same machine state (page cache, load).
        ours.append(import_ms("target_async"))
        first_use.append(import_ms("target_async", FIRST_USE))
        conversion.append(import_ms("target_async", FIRST_CONVERSION, setup=response_setup))
        httpx.append(import_ms("httpx"))
        dependencies.append(import_ms("httpx", DEPENDENCIES))
        httpx_alone.append(import_ms("httpx", setup=WITHOUT_CLICK))
        first_use_alone.append(import_ms("target_async", FIRST_USE, setup=WITHOUT_CLICK))
        dependencies_alone.append(import_ms("httpx", DEPENDENCIES, setup=WITHOUT_CLICK))
        ratios.append(ours[-1] / httpx[-1])
        dependency_ratios.append(dependencies[-1] / httpx[-1])
        first_use_ratios.append(first_use[-1] / httpx[-1])
        conversion_ratios.append(conversion[-1] / httpx[-1])
        httpx_alone_ratios.append(httpx_alone[-1] / httpx[-1])
        first_use_alone_ratios.append(first_use_alone[-1] / httpx_alone[-1])
        dependency_alone_ratios.append(dependencies_alone[-1] / httpx_alone[-1])
    ratio = median(ratios)
    log.append("imports: target_async bytecode compiled ahead, as pip does for httpx")
    log.append(
        "slowest imports of first use (self ms / cumulative ms): "
        + ", ".join(f"{name} {own:.1f}/{total:.1f}" for name, own, total in dominant_imports())
    )
    return [
        row("import target_async", median(ours), "ms", ratio, "import httpx", group="import"),
        row(
            "first use: " + FIRST_USE,
            median(first_use),
            "ms",
            median(first_use_ratios),
            "import httpx",
            group="import",
        ),
        # Not a goal: what deferring cattrs and the model hooks moves to the first call.
        row(
            "first use + first conversion (typical request unstructured, response structured)",
            median(conversion),
            "ms",
            median(conversion_ratios),
            "import httpx",
            group="import",
        ),
        row("import httpx", median(httpx), "ms", group="import"),
        # Not ours: the floor under first use, to read the goal's ratio against.
        row(
            "dependencies of first use: " + DEPENDENCIES,
            median(dependencies),
            "ms",
            median(dependency_ratios),
            "import httpx",
            group="import",
        ),
        # httpx, first use and its dependencies in an install of the runtime dependencies only.
        row(
            "import httpx without click installed (runtime dependencies only)",
            median(httpx_alone),
            "ms",
            median(httpx_alone_ratios),
            "import httpx",
            group="import",
        ),
        row(
            "first use without click installed",
            median(first_use_alone),
            "ms",
            median(first_use_alone_ratios),
            "import httpx without click installed",
            group="import",
        ),
        row(
            "dependencies of first use without click installed",
            median(dependencies_alone),
            "ms",
            median(dependency_alone_ratios),
            "import httpx without click installed",
            group="import",
        ),
        # The goal is judged on first use: lazy names make a bare `import target_async` cheap
        # without making an app start any faster.
        row(
            "import time ÷ httpx (first use)",
            median(first_use_ratios),
            "x",
            group="goal",
            goal="≤ 1.2",
            met=median(first_use_ratios) <= 1.2,
        ),
    ]
