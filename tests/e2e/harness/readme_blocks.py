"""The shell command blocks of an example's README.md, and the markers that say how a test runs
them. The convention (tests/e2e/README.md, "README command blocks", has the full text):

- every fenced block names its language; ```sh blocks are commands, run as written;
- an HTML comment on the line(s) just before a ```sh block changes how it is run:
  `<!-- test: background; listens: 18443 -->` (a server left running in another terminal),
  `<!-- test: expect-fail -->` (each command must fail), `<!-- test: skip: REASON -->`;
- in a ```sh block, a comment line `#   TEXT` (three spaces) is output that the commands since
  the previous such line must print.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

FENCE_RE = re.compile(r"^\s*(?:```|~~~)(.*)$")  # indented too (a list item's block)
MARKER_RE = re.compile(r"^<!--\s*test:(.*?)-->\s*$")
EXPECTED_RE = re.compile(r"^\s*#   (.*\S)\s*$")
LANGUAGES = {"sh", "text", "yaml", "json"}


class ReadmeError(ValueError):
    """A README that breaks the convention: the test that parses it fails with this message."""


@dataclass
class Block:
    path: Path
    line: int                 # the README line of the opening fence
    text: str                 # the block's lines, as written
    background: bool = False  # a server the user leaves running in another terminal
    expect_fail: bool = False
    skip: str = ""            # why the test does not run it
    listens: tuple = ()       # 127.0.0.1 ports a background block opens before the README goes on
    prints: str = ""          # text a background block prints before the README goes on
    ctrl_c: str = ""          # a running background block (its text) stopped before this one runs
    after_output: str = ""    # text a background block prints before this one runs (a log line)
    expected: list = field(default_factory=list)  # (line in the block, TEXT) of each `#   TEXT` line

    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def commands(self) -> int:
        """How many commands the block holds: its lines that are not blank, not comments and
        do not continue a line ending in a backslash (enough for expect-fail blocks, which
        hold one-line commands)."""
        count, continued = 0, False
        for line in self.text.splitlines():
            stripped = line.strip()
            if stripped and not stripped.startswith("#") and not continued:
                count += 1
            continued = stripped.endswith("\\")
        return count


def parse(path: Path) -> list:
    """Every ```sh block of the README at path, in order, with its marker applied. Raises
    ReadmeError for a fence without a language, an unknown language, a marker that is not
    right before a ```sh block, or a marker this module does not know."""
    lines = Path(path).read_text().splitlines()
    blocks, marker, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        found = MARKER_RE.match(line.strip())
        if found:
            if marker:
                raise ReadmeError(f"{path}:{i + 1}: two test markers in a row")
            marker = (i + 1, found.group(1).strip())
            i += 1
            continue
        fence = FENCE_RE.match(line)
        if not fence:
            if line.strip() and marker:
                raise ReadmeError(f"{path}:{marker[0]}: a test marker must be right before a ```sh block")
            i += 1
            continue
        language = fence.group(1).strip()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip()[:3] in ("```", "~~~")), None)
        if end is None:
            raise ReadmeError(f"{path}:{i + 1}: the block is not closed")
        if language not in LANGUAGES:
            raise ReadmeError(f"{path}:{i + 1}: a fenced block must name its language, one of "
                              f"{sorted(LANGUAGES)} (```sh for commands, ```text for output), "
                              f"not {language!r}")
        if language == "sh":
            block = Block(path, i + 1, textwrap.dedent("\n".join(lines[i + 1:end]) + "\n"))
            block.expected = [(n, m.group(1)) for n, m in enumerate(map(EXPECTED_RE.match, lines[i + 1:end]), 1)
                              if m]
            if marker:
                apply_marker(block, *marker)
            blocks.append(block)
        elif marker:
            raise ReadmeError(f"{path}:{marker[0]}: a test marker must be right before a ```sh block")
        marker, i = None, end + 1
    if marker:
        raise ReadmeError(f"{path}:{marker[0]}: a test marker must be right before a ```sh block")
    return blocks


def apply_marker(block: Block, line: int, content: str) -> None:
    """Items separated by ';': background, expect-fail, skip: REASON, listens: PORT...,
    prints: TEXT, ctrl-c first: BLOCK TEXT, after output: TEXT."""
    where = f"{block.path}:{line}"
    if content.startswith("skip"):
        reason = content.removeprefix("skip").lstrip(" :").strip()
        if not reason:
            raise ReadmeError(f"{where}: a skipped block must say why: <!-- test: skip: REASON -->")
        block.skip = reason
        return
    for item in (p.strip() for p in content.split(";")):
        key, _, value = (s.strip() for s in item.partition(":"))
        if item == "background":
            block.background = True
        elif item == "expect-fail":
            block.expect_fail = True
        elif key == "listens" and value:
            block.listens = tuple(int(p) for p in value.split())
        elif key == "prints" and value:
            block.prints = value
        elif key == "ctrl-c first" and value:
            block.ctrl_c = value
        elif key == "after output" and value:
            block.after_output = value
        else:
            raise ReadmeError(f"{where}: unknown test marker item {item!r}")
    if block.background and not (block.listens or block.prints):
        raise ReadmeError(f"{where}: a background block needs `listens: PORT` or `prints: TEXT` "
                          "(what shows it is ready)")
    if (block.listens or block.prints) and not block.background:
        raise ReadmeError(f"{where}: `listens` and `prints` are for background blocks")
    if block.background and block.expect_fail:
        raise ReadmeError(f"{where}: a background block cannot be expect-fail")
