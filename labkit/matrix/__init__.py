"""Ping matrices: probe commands and their parsers, the engine that runs them, and reports."""
