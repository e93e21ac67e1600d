"""Guest transports: how labkit reads files, writes files and runs commands inside a guest."""

from labkit.transport.base import CommandResult, GuestTransport

__all__ = ["CommandResult", "GuestTransport"]
