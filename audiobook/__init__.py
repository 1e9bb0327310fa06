"""audiobook: turn a written article into a Mandarin audio edition."""

__version__ = "0.1.0"
