"""A client that never connects: it spins before it would.  The grader's "never connected"
must say the client was running (or waiting for a CPU) at the deadline."""
while True:
    pass
