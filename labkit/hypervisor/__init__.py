"""Hypervisor backends behind one protocol; see base.py. Backends are imported lazily by name."""
