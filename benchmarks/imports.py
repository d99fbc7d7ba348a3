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
_HTTPX_WITHOUT_CLICK = "import httpx without click installed"
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
    # Scenario → the (module, statement, setup) of the child that times it.
    probes: dict[str, tuple[str, str | None, str]] = {
        "import target_async": ("target_async", None, ""),
        "first use: " + FIRST_USE: ("target_async", FIRST_USE, ""),
        # Not a goal: what deferring cattrs and the model hooks moves to the first call.
        "first use + first conversion (typical request unstructured, response structured)": (
            "target_async",
            FIRST_CONVERSION,
            _typical_response_setup(),
        ),
        "import httpx": ("httpx", None, ""),
        # Not ours: the floor under first use, to read the goal's ratio against.
        "dependencies of first use: " + DEPENDENCIES: ("httpx", DEPENDENCIES, ""),
        # The same as in an install of the runtime dependencies only.
        _HTTPX_WITHOUT_CLICK: ("httpx", None, WITHOUT_CLICK),
        "first use without click installed": ("target_async", FIRST_USE, WITHOUT_CLICK),
        "dependencies of first use without click installed": ("httpx", DEPENDENCIES, WITHOUT_CLICK),
    }
    # What a scenario is compared with, when not `import httpx`.
    baselines = {
        "first use without click installed": _HTTPX_WITHOUT_CLICK,
        "dependencies of first use without click installed": _HTTPX_WITHOUT_CLICK,
    }
    samples: dict[str, list[float]] = {scenario: [] for scenario in probes}
    for _ in range(settings.import_runs):
        # Alternate so all see the same machine state (page cache, load).
        for scenario, (module, statement, setup) in probes.items():
            samples[scenario].append(import_ms(module, statement, setup=setup))

    def ratio(scenario: str, baseline: str) -> float:
        """The median of the per-run ratios: each compares children run moments apart."""
        return median([a / b for a, b in zip(samples[scenario], samples[baseline], strict=True)])

    log.append("imports: target_async bytecode compiled ahead, as pip does for httpx")
    log.append(
        "slowest imports of first use (self ms / cumulative ms): "
        + ", ".join(f"{name} {own:.1f}/{total:.1f}" for name, own, total in dominant_imports())
    )
    rows = []
    for scenario in probes:
        baseline = baselines.get(scenario, "import httpx")
        if scenario == baseline:
            rows.append(row(scenario, median(samples[scenario]), "ms", group="import"))
            continue
        rows.append(
            row(scenario, median(samples[scenario]), "ms", ratio(scenario, baseline), baseline, group="import")
        )
    # The goal is judged on first use: lazy names make a bare `import target_async` cheap
    # without making an app start any faster.
    first_use = ratio("first use: " + FIRST_USE, "import httpx")
    rows.append(
        row("import time ÷ httpx (first use)", first_use, "x", group="goal", goal="≤ 1.2", met=first_use <= 1.2)
    )
    return rows
