"""acme: plan-driven batch runner.

The public surface is intentionally small. Commands live in ``acme.commands``,
gateways in ``acme.gateways``; everything else is an implementation detail.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.4.2"
