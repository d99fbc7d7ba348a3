"""The fault matrix (see `matrix.py`): each fault, on every request path and both transports,
gives a typed error or the documented fallback, in bounded time, and the same client works
afterwards. The cases of one fault run side by side, each against a stage of its own."""

from __future__ import annotations

import pytest
from matrix import FAULTS, FaultSpec, cases_of, expected_outcomes, run_cases


@pytest.mark.anyio
@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.name)
async def test_a_fault_gives_a_typed_error_or_the_documented_fallback_on_every_path(fault: FaultSpec) -> None:
    outcomes = await run_cases(cases_of(fault))
    wrong = {case.id: outcome for case, outcome in outcomes.items() if outcome not in expected_outcomes(case)}
    assert not wrong
