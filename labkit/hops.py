"""`labkit explain`: the model's walk of one cell, hop by hop, in words.

(Named hops, not explain: `labkit.explain` is the public API's function, and importing a module
labkit/explain.py would replace that attribute of the package with the module.)

A verdict's one-line reason says where a walk stopped; a student asking "why does the NAT VM reach
the internet but the LAN not reach it?" needs the whole walk: each route lookup, each ARP answer,
the NAT device re-sending from the host's stack, the router's masquerade, and the reply undone by
connection tracking on its way back. predict.py tells its walk to a trace as it goes, so these
words come from the very walk that decides the cell (never a second model that could disagree).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labkit.predict import Verdict, ping
from labkit.topology import Topology


@dataclass(slots=True)
class Walk:
    """One cell's walk: the request's hops, the reply's, and the verdict where the walk ended."""

    source: str
    target: str
    address: str | None
    verdict: Verdict
    request: list[str] = field(default_factory=list)
    reply: list[str] = field(default_factory=list)

    @property
    def word(self) -> str:
        return self.verdict.expectation or "not predicted"

    def lines(self) -> list[str]:
        """The walk as numbered lines under 'the echo request' and 'the reply' (the verdict's own
        line, as `labkit predict` words it, is the caller's: labkit.api's LabModel.explain)."""
        out = [f"{self.source} -> {self.target} ({self.address or 'no address'}), as the model walks it:"]
        n = 0
        for title, hops in (("the echo request", self.request), ("the reply", self.reply)):
            if not hops:
                continue
            out.append(f"  {title}")
            for hop in hops:
                n += 1
                out.append(f"    {n}. {hop}")
        if self.verdict.reachable is False and (self.request or self.reply):
            out.append(f"    ✗ the walk stops: {self.verdict.reason}")
        return out


def walk(topology: Topology, source: str, target: str) -> Walk:
    """Walk `source` -> `target` (endpoint names, checked by the caller) over `topology`."""
    src, end = topology.resolve(source), topology.resolve(target)
    hops: list[str] = []
    verdict = ping(topology, src.node, end, hops.append)
    request, reply = hops, []
    for i, hop in enumerate(hops):
        if hop.startswith("the reply: "):
            request, reply = hops[:i], [hop.removeprefix("the reply: "), *hops[i + 1:]]
            break
    return Walk(source, target, str(end.address) if end.address is not None else None, verdict, request, reply)
