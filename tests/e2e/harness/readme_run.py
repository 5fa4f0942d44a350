"""Runs the ```sh blocks of a README (harness/readme_blocks.py) as a user types them: the
foreground blocks one after another in one terminal (bash; `cd` and variables carry over from
block to block), each background block in a terminal of its own, started at the root of the
copied repository and stopped at the end with Ctrl-C (SIGINT to its process group).

Every block runs in a process group of its own, so everything it started (servers with `&`
too) is stopped at the end; stdin is /dev/null, stdout and stderr go to one file per block."""
from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .readme_blocks import Block
from .snigate import sanitizer_reports
from .util import read_text, wait_port, wait_until

FOREGROUND_TIMEOUT = 60.0   # one block of client commands
READY_TIMEOUT = 30.0        # a background block's servers (PostgreSQL's initdb is the slowest)
CTRL_C_TIMEOUT = 20.0       # a background block's exit after Ctrl-C

MARK = "\x1e"  # starts the line the wrapper writes before each command: MARK, the command's line

# Bash variables that are not the user's: not carried from one block to the next.
SHELL_OWN = ("BASH.*|FUNCNAME|PIPESTATUS|LINENO|RANDOM|SRANDOM|SECONDS|EPOCH.*|_|PPID|UID|EUID|"
             "SHELLOPTS|SHLVL|HISTCMD|OPTIND|OPTERR|GROUPS|DIRSTACK|COMP_.*|PWD|OLDPWD|__t_.*")

# Runs one foreground block ($2) in the terminal's state ($1: cwd, vars): each command that
# fails (in the block itself) is written to $1/failed with its line and status, and before each
# command a line MARK + its line number goes to the output, so output can be told apart by
# command; afterwards the working directory and the user's variables are saved for the next block.
FOREGROUND_WRAPPER = r"""
__t_state=$1
__t_text=$(cat "$2")
__t_eval='eval "$__t_text"'
cd "$(cat "$__t_state/cwd")" || exit 97
. "$__t_state/vars" 2>/dev/null
: >"$__t_state/failed"
# eval, not `.`: the DEBUG trap reaches the block's commands only so. Their $LINENO counts
# from the eval's line.
trap 'if [ -n "$__t_in" ] && [ "$BASH_COMMAND" != "__t_in=" ]; then printf "\036%s\n" "$((LINENO - __t_line + 1))"; fi' DEBUG
# (One line each: $LINENO counts the lines of a trap's own text too.)
trap '__t_rc=$?; if [ -n "$__t_in" ] && [ "$BASH_COMMAND" != "$__t_eval" ]; then printf "line %s: exit status %s: %s\n" "$((LINENO - __t_line + 1))" "$__t_rc" "$BASH_COMMAND" >>"$__t_state/failed"; fi' ERR
__t_line=$LINENO; __t_in=1; eval "$__t_text"
__t_in=
trap - ERR DEBUG
pwd >"$__t_state/cwd"
compgen -v | grep -Evx '""" + SHELL_OWN + r"""' | while read -r __t_name; do
  declare -p "$__t_name"
done >"$__t_state/vars"
"""


@dataclass
class Terminal:
    """A background block running in a terminal of its own."""
    block: Block
    proc: subprocess.Popen
    output: Path
    stopped: bool = False   # by a later block's `ctrl-c first`

    def log(self) -> str:
        return f"--- background block {self.block.where()}:\n{self.block.text}--- its output:\n{read_text(self.output)}"


class ReadmeRun:
    """One user following one README. Use as a context manager: leaving it stops every
    terminal with Ctrl-C and every process group a foreground block left behind."""

    def __init__(self, root: Path, workdir: Path, env: dict):
        self.root = Path(root)
        self.workdir = Path(workdir)
        self.state = self.workdir / "terminal"
        self.state.mkdir(parents=True)
        (self.state / "cwd").write_text(str(self.root))
        (self.state / "vars").write_text("")
        (self.workdir / "wrapper.sh").write_text(FOREGROUND_WRAPPER)
        self.env = env
        self.terminals: list = []
        self.groups: list = []      # process groups of foreground blocks
        self.outputs: list = []     # every block's output file
        self.count = 0

    def __enter__(self) -> "ReadmeRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.stop_all()
        except AssertionError:
            if exc_type is None:
                raise
            # The block that failed says more than a server that, say, exited because of it.

    # ------------------------------------------------------------ blocks
    def run(self, block: Block) -> None:
        """Run one block as the README says (nothing for a skipped one); AssertionError when it
        does not do what the README says."""
        if block.skip:
            return
        if block.ctrl_c:
            self.ctrl_c(self.terminal(block.ctrl_c, block))
        if block.after_output:
            wait_until(lambda: any(block.after_output in read_text(t.output) for t in self.terminals), 10,
                       f"{block.after_output!r} from a background block (before {block.where()})",
                       on_timeout=self.logs)
        if block.background:
            self.start_background(block)
        else:
            self.run_foreground(block)

    def files(self, block: Block) -> tuple:
        self.count += 1
        script = self.workdir / f"block-{self.count:02d}.sh"
        script.write_text(block.text)
        output = self.workdir / f"block-{self.count:02d}.out"
        self.outputs.append(output)
        return script, output

    def popen(self, argv: list, output: Path) -> subprocess.Popen:
        with open(output, "wb") as out:
            return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=str(self.root), env=self.env, start_new_session=True)

    def run_foreground(self, block: Block) -> None:
        script, output = self.files(block)
        proc = self.popen(["bash", str(self.workdir / "wrapper.sh"), str(self.state), str(script)], output)
        self.groups.append(proc.pid)
        try:
            proc.wait(timeout=FOREGROUND_TIMEOUT)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            raise AssertionError(f"{block.where()}: the block did not end within {FOREGROUND_TIMEOUT:.0f} s\n"
                                 + report(block, output) + self.logs())
        failed = read_text(self.state / "failed")
        problems = []
        if proc.returncode == 97:
            problems.append("the terminal's working directory is gone")
        if block.expect_fail:
            if len(failed.splitlines()) < block.commands():
                problems.append(f"expect-fail: each of its {block.commands()} command(s) must fail, "
                                f"these did: {failed or 'none'}")
        elif failed:
            problems.append(f"a command failed:\n{failed}")
        problems += missing_output(block, read_text(output))
        if problems:
            raise AssertionError(f"{block.where()}: " + "\n".join(problems) + "\n" + report(block, output)
                                 + self.logs())

    def start_background(self, block: Block) -> None:
        script, output = self.files(block)
        term = Terminal(block, self.popen(["bash", str(script)], output), output)
        self.terminals.append(term)
        for port in block.listens:
            wait_port(port, READY_TIMEOUT, f"the background block {block.where()}", term.proc, self.logs)
        if block.prints:
            def printed():
                if term.proc.poll() is not None:
                    raise AssertionError(f"{block.where()}: exited {term.proc.returncode} before printing "
                                         f"{block.prints!r}\n{self.logs()}")
                return block.prints in read_text(output)
            wait_until(printed, READY_TIMEOUT, f"{block.prints!r} from {block.where()}", on_timeout=self.logs)

    def terminal(self, text: str, by: Block) -> Terminal:
        for term in self.terminals:
            if term.block.text.strip() == text.strip() and not term.stopped:
                return term
        raise AssertionError(f"{by.where()}: `ctrl-c first: {text}` names no running background block")

    # ------------------------------------------------------------ stopping
    def ctrl_c(self, term: Terminal) -> None:
        """As Ctrl-C in its terminal: SIGINT to the process group, wait for it to exit (then
        SIGKILL to whatever of the group is left). It must still have been running."""
        if term.proc.poll() is not None:
            raise AssertionError(f"{term.block.where()}: the background block exited "
                                 f"({term.proc.returncode}) before the README was done\n{self.logs()}")
        term.stopped = True
        kill_group(term.proc.pid, signal.SIGINT)
        try:
            term.proc.wait(timeout=CTRL_C_TIMEOUT)
        except subprocess.TimeoutExpired:
            kill_group(term.proc.pid, signal.SIGKILL)
            term.proc.wait(timeout=10)
            raise AssertionError(f"{term.block.where()}: still running {CTRL_C_TIMEOUT:.0f} s after Ctrl-C\n"
                                 + term.log())
        kill_group(term.proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        """Ctrl-C every terminal still running (last started first), then SIGKILL the process
        groups of the foreground blocks (servers a block started with `&`). Raises the first
        problem after everything is stopped."""
        problems = []
        for term in reversed(self.terminals):
            if not term.stopped:
                try:
                    self.ctrl_c(term)
                except AssertionError as e:
                    problems.append(str(e))
        for pgid in self.groups:
            kill_group(pgid, signal.SIGKILL)
        if problems:
            raise AssertionError("\n\n".join(problems))

    def sanitizer_lines(self) -> list:
        """Sanitizer report lines in what any block (snigate among them) wrote."""
        return [ln for out in self.outputs for ln in sanitizer_reports(read_text(out))]

    def logs(self) -> str:
        return "".join(f"\n{t.log()}" for t in self.terminals)


def kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def output_by_line(output: str) -> list:
    """[(line of the command in the block, what it printed)] from a foreground block's output."""
    parts, line = [], 0
    for chunk in output.split(MARK):
        head, _, rest = chunk.partition("\n")
        if head.isdigit():
            line, chunk = int(head), rest
        parts.append((line, chunk))
    return parts


def missing_output(block: Block, output: str) -> list:
    """The block's `#   TEXT` lines that its output lacks. Each is looked for in what the
    commands since the previous `#   TEXT` line printed, after what that line matched when both
    follow the same command; `...` in TEXT stands for anything, and runs of white space (line
    ends too) compare equal to one space."""
    parts = output_by_line(output)
    missing, start, prev, pos = [], 1, 0, 0
    for line, expected in block.expected:
        if line != prev + 1:  # a new group: the commands between the previous one and this line
            start, pos = prev + 1, 0
        flat = " ".join(" ".join(text for n, text in parts if start <= n < line).split())
        for part in (" ".join(p.split()) for p in expected.split("...")):
            found = flat.find(part, pos) if part else pos
            if found < 0:
                missing.append(f"line {line} of the block: expected output not printed: {expected!r}")
                break
            pos = found + len(part)
        prev = line
    return missing


def report(block: Block, output: Path) -> str:
    shown = "".join(text for _, text in output_by_line(read_text(output)))
    return f"--- block {block.where()}:\n{block.text}--- its output:\n{shown}"
