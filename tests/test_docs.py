"""The documentation site: every code example runs, the reference pages match the code,
and `mkdocs build --strict` passes.

Conventions for the code blocks of `docs/**/*.md` (also written in docs/index.md):

- a ```` ```python ```` block is a complete program, run as `__main__`. It may use the name
  `client_options`, which stands for the reader's client options; here it is the options
  of a local edge serving the bundled sample artifact (`edge.client_options()`);
- a ```` ```console ```` block's `$ target-async ...` commands are run and must exit 0;
  set-up commands (`pip install`, `make`, starting an example app) go in ```` ```sh ````
  blocks, which are checked to hold nothing else;
- the comment `<!-- docs-test: pytest -->` before a python block makes it a pytest module,
  run by pytest; `<!-- docs-test: skip (reason) -->` skips a block and must say why;
- `--8<-- "name.py"` includes an example app of `docs/examples/`, which
  tests/test_integrations.py serves for real.
"""

from __future__ import annotations

import ast
import inspect
import logging
import os
import re
import runpy
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import target_async
from target_async import RetryPolicy, TargetConfig, cli
from target_async import _exceptions as exceptions_module
from target_async._options import CallOptions
from target_async.testing import SAMPLE_ARTIFACT_PATH, LocalEdge

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
# Blocks nobody can run here (an account, a server that never returns) stay rare.
MAX_SKIPPED_BLOCKS = 3

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>pytest|skip)\s*(?P<reason>.*?)\s*-->")
_SNIPPET = re.compile(r'^\s*--8<--\s+"(?P<name>[^"]+)"\s*$', re.MULTILINE)


@attrs.frozen
class Block:
    page: Path
    line: int
    lang: str
    code: str
    marker: str | None
    reason: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(DOCS)}:{self.line}"


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _blocks(page: Path) -> Iterator[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence, start = len(opening["indent"]), opening["fence"], index
        previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = _MARKER.search(previous)
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index][indent:])
            index += 1
        yield Block(
            page=page,
            line=start + 1,
            lang=opening["lang"],
            code="\n".join(body) + "\n",
            marker=marker["kind"] if marker else None,
            reason=marker["reason"] if marker else "",
        )
        index += 1


ALL_BLOCKS = [block for page in _pages() for block in _blocks(page)]
PYTHON_BLOCKS = [
    b for b in ALL_BLOCKS if b.lang == "python" and b.marker is None and not _SNIPPET.search(b.code)
]
PYTEST_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "python" and b.marker == "pytest"]
CONSOLE_COMMANDS = [
    (block, line[2:].strip())
    for block in ALL_BLOCKS
    if block.lang == "console" and block.marker is None
    for line in block.code.splitlines()
    if line.startswith("$ ")
]


@pytest.fixture(scope="module")
def docs_edge() -> Iterator[LocalEdge]:
    with LocalEdge.run_in_thread(artifact=SAMPLE_ARTIFACT_PATH) as edge:
        yield edge


@pytest.fixture
def isolated_logging() -> Iterator[None]:
    """Examples may configure logging; later tests must not inherit it."""
    loggers = [logging.getLogger(name) for name in ("target_async", "httpx")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    try:
        yield
    finally:
        for logger, (level, handlers) in zip(loggers, saved, strict=True):
            logger.setLevel(level)
            logger.handlers[:] = handlers


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.id for b in PYTHON_BLOCKS])
def test_python_example_runs(
    block: Block, docs_edge: LocalEdge, tmp_path: Path, isolated_logging: None
) -> None:
    script = tmp_path / "example.py"
    script.write_text(block.code, encoding="utf-8")
    runpy.run_path(
        str(script),
        init_globals={"client_options": docs_edge.client_options()},
        run_name="__main__",
    )


@pytest.mark.parametrize("block", PYTEST_BLOCKS, ids=[b.id for b in PYTEST_BLOCKS])
def test_pytest_example_passes(block: Block, tmp_path: Path) -> None:
    (tmp_path / "test_example.py").write_text(block.code, encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout


@pytest.mark.parametrize(
    ("block", "command"), CONSOLE_COMMANDS, ids=[f"{b.id}:{c}" for b, c in CONSOLE_COMMANDS]
)
def test_console_example_runs(block: Block, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(command)
    assert argv[0] == "target-async", f"{block.id}: only target-async commands are run; use an sh block"
    # In process (the entry point's own function), not a subprocess: seconds saved per command.
    try:
        status = cli.main(argv[1:])
    except SystemExit as exit_:  # argparse's --help
        status = exit_.code if isinstance(exit_.code, int) else 1
    assert status == 0, capsys.readouterr()
    assert capsys.readouterr().out


SETUP_COMMANDS = ("pip install ", "make ", "python docs/examples/", "uvicorn ")


def test_sh_blocks_hold_only_setup_commands() -> None:
    for block in ALL_BLOCKS:
        if block.lang == "sh":
            for line in block.code.splitlines():
                command = line.split("#", 1)[0].strip()
                assert not command or command.startswith(SETUP_COMMANDS), (
                    f"{block.id}: {line!r} is not run; use console"
                )


def test_there_are_examples_to_run() -> None:
    # Guards the block parser: an unclosed fence would silently swallow the rest of a page.
    assert len(PYTHON_BLOCKS) >= 30
    assert PYTEST_BLOCKS and CONSOLE_COMMANDS


def test_skipped_blocks_are_rare_and_explained() -> None:
    skipped = [b for b in ALL_BLOCKS if b.marker == "skip"]
    assert len(skipped) <= MAX_SKIPPED_BLOCKS, [b.id for b in skipped]
    for block in skipped:
        assert block.reason.strip("() "), f"{block.id}: say why the block is not run"


def test_every_example_app_is_included_and_served_by_the_integration_tests() -> None:
    included = {
        m["name"] for page in _pages() for m in _SNIPPET.finditer(page.read_text(encoding="utf-8"))
    }
    apps = {path.name for path in EXAMPLES.glob("*.py")}
    assert included == apps
    served = (ROOT / "tests" / "test_integrations.py").read_text(encoding="utf-8")
    for app in apps:
        assert f'load_example("{Path(app).stem}")' in served, f"{app} is not served by a test"


# -- reference pages that must follow the code -------------------------------------------------


def _table(heading: str) -> dict[str, list[str]]:
    """The rows of the first table under `heading` in configuration.md, by their first cell."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    body = text.split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in body.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) >= 2 and cells[0].startswith("`"):
            for name in re.findall(r"`(\w+)`", cells[0]):
                rows[name] = cells[1:]
    return rows


def _default(field: Any) -> Any:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    return getattr(default, "value", default)


def test_configuration_page_lists_every_option_with_its_default() -> None:
    rows = _table("## Client options")
    fields = {field.name: field for field in attrs.fields(TargetConfig)}
    assert list(rows) == list(fields), "the table lists every option of TargetConfig, in its order"
    compared = 0
    for name, (_, default_cell, *_) in rows.items():
        literal = default_cell.removeprefix("`").removesuffix("`")
        try:
            documented = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            continue  # said in words or code: "required", `RetryPolicy()`, ...
        assert documented == _default(fields[name]), f"{name}: the page says {literal}"
        compared += 1
    assert compared >= 20


def test_configuration_page_lists_every_call_option() -> None:
    assert set(_table("## Call options")) == {field.name for field in attrs.fields(CallOptions)}


def test_retry_policy_table_matches_its_defaults() -> None:
    rows = _table("### Retry policy")
    fields = attrs.fields_dict(RetryPolicy)
    assert set(rows) == set(fields)
    for name, (default_cell, *_) in rows.items():
        assert ast.literal_eval(default_cell.strip("`")) == _default(fields[name]), name


def test_errors_page_shows_the_exception_tree_of_the_code() -> None:
    page = (DOCS / "errors.md").read_text(encoding="utf-8")
    tree = inspect.getdoc(exceptions_module)
    assert tree is not None
    code_tree = tree.split("```text\n", 1)[1].split("```", 1)[0]
    assert code_tree in page, "errors.md shows the tree of the _exceptions module docstring"
    for name in exceptions_module.__all__:
        if isinstance(getattr(exceptions_module, name), type):
            assert f"`{name}`" in page, f"errors.md does not describe {name}"


def _reference_targets() -> set[str]:
    targets: set[str] = set()
    for page in (DOCS / "reference").glob("*.md"):
        targets |= set(
            re.findall(r"^:::\s+([\w.]+)", page.read_text(encoding="utf-8"), re.MULTILINE)
        )
    return targets


def test_api_reference_covers_the_public_api() -> None:
    targets = _reference_targets()
    models = set(target_async.models.__all__)
    missing = [
        name
        for name in target_async.__all__
        if name not in models
        and (
            inspect.isclass(getattr(target_async, name))
            or inspect.isfunction(getattr(target_async, name))
        )
        and f"target_async.{name}" not in targets
    ]
    assert not missing, f"add to docs/reference: {missing}"
    assert "target_async.models" in targets


def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    site = tmp_path / "site"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", "NO_MKDOCS_2_WARNING": "1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    # The API reference is generated from the docstrings.
    clients = (site / "reference" / "clients" / "index.html").read_text(encoding="utf-8")
    assert "enqueue_notifications" in clients and "Fetch offers" in clients
    # Example apps are included, not linked.
    fastapi_page = (site / "frameworks" / "fastapi" / "index.html").read_text(encoding="utf-8")
    assert "target_lifespan" in fastapi_page and "create_app" in fastapi_page


def test_docstrings_use_markdown_code_blocks() -> None:
    # mkdocstrings renders docstrings as Markdown: a reST `::` shows as is in the API reference.
    for path in sorted((ROOT / "target_async").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                docstring = ast.get_docstring(node) or ""
                for line in docstring.splitlines():
                    assert not line.rstrip().endswith("::"), f"{path.relative_to(ROOT)}: {line.strip()}"
