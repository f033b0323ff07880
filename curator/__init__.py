"""curator: collect, clean, summarise and draft a tech weekly for human review."""
__version__ = "0.1.0"
