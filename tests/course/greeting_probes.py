"""A course's own probes for the TCP echo server (graded by tests/test_assignment.py).

Written as a teacher would: the public decorator and context, one rule of the
course's own on top of the lab's probes.
"""

from grader.context import ProbeContext
from grader.probes.course import probe
from grader.probes.registry import Param
from grader.verdict import Evidence, ProbeFailed, Tier


@probe("course/shouted-echo", depends=("echo/one-message",),
       params=(Param("text", "HELLO CLASS", "", "the line sent"),))
def shouted_echo(ctx: ProbeContext) -> None:
    """The line '{text}' comes back exactly as sent (our course's own rule)."""
    line = f"{ctx.param('text')}\n".encode()
    with ctx.connect() as conn:
        conn.send_all(line, deadline=ctx.reply_deadline())
        got = conn.read_exactly(len(line), deadline=ctx.reply_deadline())
    if got.data != line:
        raise ProbeFailed("the course's line did not come back",
                          hint="echo every byte back unchanged",
                          evidence=Evidence(expected=repr(line), actual=repr(got.data)))


@probe("course/upper-echo", depends=("course/shouted-echo",), tier=Tier.INFORMATIONAL)
def upper_echo(ctx: ProbeContext) -> None:
    """A lower-case line comes back in upper case (an echo server does not do this: it fails)."""
    with ctx.connect() as conn:
        conn.send_all(b"abc\n", deadline=ctx.reply_deadline())
        got = conn.read_exactly(4, deadline=ctx.reply_deadline())
    if got.data != b"ABC\n":
        raise ProbeFailed(f"got {got.data!r}, not b'ABC\\n'", hint="upper-case the line")
