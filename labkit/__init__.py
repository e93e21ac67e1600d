"""labkit: drive VMware network labs and check them against a model of VMware networking."""

__version__ = "0.1.0"
