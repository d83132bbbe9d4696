"""erkweb: bulk work as parallel Claude agents, with every result verified and every run kept."""

__version__ = "0.1.0"
