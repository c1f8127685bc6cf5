"""pytest configuration: make ``tests/helpers.py`` importable and check no process leaks."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
