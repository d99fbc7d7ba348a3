"""What `mypy --strict` says about user code: the snippets of tests/typing/.

One mypy run checks every snippet. A line ending in `# E: text` must get an error
containing `text`; a line ending in `# R: type` must reveal exactly `type`; every other
line must type-check.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SNIPPETS = Path(__file__).parent / "typing"
_MARK = re.compile(r"#\s*(E|R):\s*(.+?)\s*$")
_OUTPUT = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<message>.*)$")


def _expected() -> dict[tuple[str, int], tuple[str, str]]:
    expected = {}
    for path in sorted(SNIPPETS.glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            mark = _MARK.search(line)
            if mark:
                expected[(path.name, number)] = (mark.group(1), mark.group(2))
    return expected


@pytest.fixture(scope="module")
def mypy_output() -> dict[tuple[str, int], list[tuple[str, str]]]:
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.10", "--no-error-summary", str(SNIPPETS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=SNIPPETS.parent.parent,
    )
    assert completed.returncode in (0, 1), completed.stderr or completed.stdout
    found: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for line in completed.stdout.splitlines():
        match = _OUTPUT.match(line)
        assert match, f"unexpected mypy output: {line}"
        key = (Path(match["path"]).name, int(match["line"]))
        found.setdefault(key, []).append((match["kind"], match["message"]))
    return found


def test_the_suite_has_snippets() -> None:
    kinds = [kind for kind, _ in _expected().values()]
    assert kinds.count("E") >= 15 and kinds.count("R") >= 20


@pytest.mark.parametrize("where", sorted(_expected()), ids=lambda where: f"{where[0]}:{where[1]}")
def test_mypy_reports_what_the_snippet_says(
    mypy_output: dict[tuple[str, int], list[tuple[str, str]]], where: tuple[str, int]
) -> None:
    kind, text = _expected()[where]
    messages = mypy_output.get(where, [])
    if kind == "E":
        errors = [message for k, message in messages if k == "error"]
        assert any(text in error for error in errors), f"expected an error with {text!r}, got {errors}"
    else:
        revealed = [m.removeprefix("Revealed type is ")[1:-1] for k, m in messages if m.startswith("Revealed type is ")]
        assert revealed == [text]


def test_every_other_line_type_checks(mypy_output: dict[tuple[str, int], list[tuple[str, str]]]) -> None:
    expected = _expected()
    unexpected = [
        f"{path}:{line}: {message}"
        for (path, line), messages in mypy_output.items()
        for kind, message in messages
        if kind == "error" and (path, line) not in expected
    ]
    assert not unexpected
