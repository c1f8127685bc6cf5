"""A server that never listens: it spins before it would.  Graded with almost no CPU it is
still runnable with little CPU used at twice the startup deadline: the machine's fault
(an error), not a failure; with the CPU it fails "did not listen"."""
while True:
    pass
