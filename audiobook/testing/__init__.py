"""Test doubles that are real implementations of what they stand in for, importable without the
test suite (scripts/bench.py and `python -m` use them too): a protocol-faithful fake of the Edge
speech service (edge_service.py), and an engine that makes tones in memory, registered like the
real ones (memory_engine.py)."""
