"""The offline Messages API simulator (see server.py). Tests and the benchmark use `start_simulator`."""

from .faults import Rule, parse_rule
from .server import SimulatorHandle, start_simulator

__all__ = ["Rule", "SimulatorHandle", "parse_rule", "start_simulator"]
