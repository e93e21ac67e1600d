"""Reports of a whole run, each computed from a RunResult alone: as_json.py (the contract),
as_junit.py (CI), terminal.py (Rich)."""
