"""Smoke test of an installed target-async (run by .ci/check-dist from outside the checkout).

Checks that the package imported is the installed one, that its metadata, licence and typing
marker are there, and that the main paths work against the local edge it ships.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import anyio

import target_async
from target_async import (
    AsyncTargetClient,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    TargetClient,
)
from target_async.testing import SAMPLE_ARTIFACT_PATH, LocalEdge

package_dir = Path(target_async.__file__).resolve().parent
assert "site-packages" in package_dir.parts, f"imported from the checkout: {package_dir}"
distribution = importlib.metadata.distribution("target-async")
assert distribution.version == target_async.__version__, distribution.version
licence_files = [f for f in distribution.files or () if f.name == "LICENSE"]
assert licence_files, "no LICENSE in the wheel"
assert "Apache License" in licence_files[0].read_text(), "LICENSE is not the Apache licence"
assert (package_dir / "py.typed").is_file()
assert SAMPLE_ARTIFACT_PATH.is_file()

REQUEST = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="hero-banner")]))


async def main() -> None:
    async with LocalEdge(artifact=SAMPLE_ARTIFACT_PATH) as edge:
        for method in ("server-side", "on-device", "hybrid"):
            options = edge.client_options(decisioning_method=method)
            async with AsyncTargetClient.create(options) as client:
                result = await client.get_offers(request=REQUEST)
                assert result.response.execute.mboxes[0].options, method


anyio.run(main)

with LocalEdge.run_in_thread(artifact=SAMPLE_ARTIFACT_PATH) as edge:
    with TargetClient.create(edge.client_options()) as client:
        assert client.get_offers(request=REQUEST).response.execute.mboxes[0].options

for command in (["--help"], ["offers", "--artifact", "sample", "--mbox", "hero-banner", "--on-device"]):
    run = subprocess.run(
        [sys.executable, "-m", "target_async", *command], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr

print(f"target-async {target_async.__version__} from {package_dir}: smoke test passed")
