"""A client that never connects: it waits for something else (here, a long sleep) before it
would.  The grader's "never connected" must say the client was blocked at the deadline, not
running: a student can tell it from a client starved of CPU."""
import time

time.sleep(120)
