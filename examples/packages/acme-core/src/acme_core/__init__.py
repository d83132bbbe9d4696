"""acme-core: dependency-light helpers. Must not import from ``acme``."""
