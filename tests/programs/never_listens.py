"""Waits for input on stdin before doing anything: never listens within the deadline."""
import sys

print("press enter to start the server", flush=True)
sys.stdin.readline()
