"""The official `target-python-sdk==1.1.0`, installed into its own venv and driven in a subprocess.

Its wheel declares no dependencies, so they are installed by name. When pip cannot get it
(offline, index down) `python_or_none` says why and the report shows "n/a".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks._harness import RESULTS_DIR, Sample

__all__ = ["OFFICIAL_PACKAGES", "drive", "python_or_none"]

OFFICIAL_PACKAGES = (
    "target-python-sdk==1.1.0",
    "pytz",
    "tzlocal",
    "python-dateutil",
    "ua-parser",
    "user-agents",
    "json_logic_qubit",
    "tld",
    "six",
    "certifi",
    "urllib3",
    "requests",
)
VENV = RESULTS_DIR / "official-venv"
DRIVER = Path(__file__).with_name("_official_driver.py")
_STAMP = VENV / ".installed"


def python_or_none(log: list[str]) -> Path | None:
    """The venv's interpreter with the official SDK installed, or None (reason appended to `log`)."""
    python = VENV / "bin" / "python"
    if _STAMP.exists() and python.exists():
        return python
    try:
        if not python.exists():
            subprocess.run(
                [sys.executable, "-m", "venv", "--clear", str(VENV)],
                check=True,
                capture_output=True,
            )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *OFFICIAL_PACKAGES,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.CalledProcessError as error:
        output = (error.stderr or error.stdout or "").strip().splitlines()
        log.append(f"official SDK: install failed ({output[-1] if output else error})")
        return None
    except (OSError, subprocess.TimeoutExpired) as error:
        log.append(f"official SDK: install failed ({error})")
        return None
    _STAMP.write_text(" ".join(OFFICIAL_PACKAGES) + "\n")
    return python


def drive(
    python: Path, port: int, *, threads: int, duration: float, call: str = "offers"
) -> tuple[Sample, dict[str, int]]:
    """One sample of the official SDK under load, plus the threads/fds it had afterwards."""
    completed = subprocess.run(
        [
            str(python),
            str(DRIVER),
            "--port",
            str(port),
            "--threads",
            str(threads),
            "--duration",
            str(duration),
            "--call",
            call,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300 + duration * 10,
    )
    data = json.loads(completed.stdout.strip().splitlines()[-1])
    sample = Sample(data["calls"], data["seconds"], data["cpu_seconds"], data["errors"])
    return sample, {"threads": data["threads_after"], "fds": data["fds_after"]}
