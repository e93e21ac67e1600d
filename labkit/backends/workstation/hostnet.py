"""Feed a Workstation inventory with what the host says about its VMnets, when a lab is opened.

The host's networking files (/etc/vmware/networking, vmnetN/nat.conf, vmnetN/dhcpd.conf, read by
hostfiles.py) and vmrest's /vmnets (vmrest.py) both become `facts.VnetFacts`; here they fill the
subnets, host adapters, NAT devices and DHCP pools an inventory leaves out, and every fact it
states is compared with them. This is I/O (files, maybe HTTP), so it runs only when a lab is
opened (the package's `complete_inventory`, run by labkit.backends.open_lab); the loader lets
those facts be missing until then (labkit.inventory.deferred_facts, the format's rule).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from labkit.backends.workstation.facts import VnetFacts
from labkit.errors import InputError, InputErrors, LabkitError
from labkit.model import DhcpPool, HostAdapter, Inventory, Network

DEFAULT_NETWORKING_DIR = Path("/etc/vmware")  # Linux Workstation; read only when it holds `networking`


def networking_dir(inv: Inventory, inventory_file: str | None) -> tuple[Path | None, bool]:
    """Where a Workstation inventory's host networking files are, and whether the user named it.

    A relative `backend.networking_dir` is relative to the inventory file, like a playbook's
    `inventory:`; without one, /etc/vmware is used when it holds a `networking` file.
    """
    given = inv.backend.networking_dir
    if given is None:
        found = (DEFAULT_NETWORKING_DIR / "networking").is_file()
        return (DEFAULT_NETWORKING_DIR if found else None), False
    folder = Path(os.path.expanduser(given))
    if not folder.is_absolute() and inventory_file and not inventory_file.startswith("<"):
        folder = Path(inventory_file).resolve().parent / folder
    return folder, True


ErrorAt = Callable[..., InputError]  # (message, loc, field=None) -> InputError, like Source.error


def _plain_error(message: str, loc: tuple = (), field: str | None = None) -> InputError:
    return InputError(message, field=field if field is not None else ".".join(str(p) for p in loc) or None)


def apply_host_facts(inv: Inventory, facts: list[VnetFacts] | tuple[VnetFacts, ...],
                     error: ErrorAt = _plain_error) -> Inventory:
    """`inv` with each network's missing subnet/host_adapter/gateway/dhcp taken from its VMnet.

    A network is matched by `backend_network` (VMnet8 == vmnet8). What the inventory states is kept;
    where it contradicts the host every contradiction is raised at once (InputErrors), naming the
    field: the host's files describe the lab that really runs, so a disagreeing inventory would
    make the model predict another lab. Networks whose VMnet the host does not have stay as written.
    """
    by_name = {f.name.lower(): f for f in facts}
    errors: list[InputError] = []
    networks = dict(inv.networks)
    for name, net in inv.networks.items():
        fact = by_name.get((net.backend_network or "").lower())
        if fact is None:
            continue
        updated, problems = _merge(net, fact)
        errors += [error(msg, ("networks", name) + key) for key, msg in problems]
        networks[name] = updated
    if errors:
        raise InputErrors(errors)
    return inv.model_copy(update={"networks": networks})


def _merge(net: Network, fact: VnetFacts) -> tuple[Network, list[tuple[tuple, str]]]:
    problems: list[tuple[tuple, str]] = []
    where = f"the host's {fact.name}"
    if (net.type == "nat") != (fact.type == "nat") or (net.type == "bridged") != (fact.type == "bridged"):
        problems.append((("type",), f"{net.type}, but {where} is a {fact.type} network"))
        return net, problems
    if net.type == "bridged":
        return net, problems
    update: dict = {}
    if fact.subnet is not None:
        if net.subnet is None:
            update["subnet"] = fact.subnet
        elif net.subnet != fact.subnet:
            problems.append((("subnet",), f"{net.subnet}, but {where} has the subnet {fact.subnet}"))
    if fact.assumed:  # keep only what the host really reported, where the inventory speaks
        kept = {"host_address": net.host_adapter, "gateway": net.gateway, "dhcp": net.dhcp}
        drop = {k for k in fact.assumed if kept.get(k) is not None}
        fact = replace(fact, host_address=None if "host_address" in drop else fact.host_address,
                       gateway=None if "gateway" in drop else fact.gateway,
                       dhcp=None if "dhcp" in drop else fact.dhcp)
    if fact.host_address is not None:
        enabled = fact.host_adapter_enabled is not False
        if net.host_adapter is None:
            update["host_adapter"] = HostAdapter(address=fact.host_address, enabled=enabled)
        elif net.host_adapter.address != fact.host_address:
            problems.append((("host_adapter", "address"),
                             f"{net.host_adapter.address}, but {where}'s host adapter is {fact.host_address}"))
        elif net.host_adapter.enabled and not enabled:
            problems.append((("host_adapter", "enabled"),
                             f"true, but {where} has no host virtual adapter (VIRTUAL_ADAPTER no)"))
    if fact.gateway is not None and net.type == "nat":
        if net.gateway is None:
            update["gateway"] = fact.gateway
        elif net.gateway != fact.gateway:
            problems.append((("gateway",), f"{net.gateway}, but {where}'s NAT device is {fact.gateway}"))
    if fact.dhcp is not None:
        if net.dhcp is None:
            update["dhcp"] = DhcpPool(start=fact.dhcp.start, end=fact.dhcp.end, server=fact.dhcp.server)
        else:
            for key in ("start", "end", "server"):
                mine, theirs = getattr(net.dhcp, key), getattr(fact.dhcp, key)
                if mine is not None and theirs is not None and mine != theirs:
                    problems.append((("dhcp", key), f"{mine}, but {where}'s DHCP pool has {key} {theirs}"))
    return (net.model_copy(update=update) if update else net), problems


def host_facts_applied(inv: Inventory, inventory_file: str | None, error: ErrorAt = _plain_error) -> Inventory:
    """For a Workstation inventory: `inv` fed with the host's networking files when they are there,
    else with vmrest's /vmnet when a subnet is missing. `inventory_file` anchors a relative
    networking_dir; `error` places a problem in the inventory (file, line, field)."""
    if inv.backend.type != "workstation":
        return inv
    folder, named = networking_dir(inv, inventory_file)
    if folder is None:
        return _vmrest_facts_applied(inv, error)
    if named and not folder.is_dir():
        raise error(f"{folder} is not a folder (the host's VMware networking files: networking, "
                    "vmnet8/nat/nat.conf, vmnet8/dhcpd/dhcpd.conf)", ("backend", "networking_dir"))
    from labkit.backends.workstation.hostfiles import read_host_networks

    return apply_host_facts(inv, read_host_networks(folder), error)


def _vmrest_facts_applied(inv: Inventory, error: ErrorAt) -> Inventory:
    """No networking files here (vmrest on another machine, or Windows): ask vmrest's /vmnet, but
    only when a network really lacks its subnet, so a complete inventory opens without a network call."""
    lacking = [name for name, net in inv.networks.items() if net.type != "bridged" and net.subnet is None]
    if not lacking or inv.backend.user is None or inv.backend.password_env is None:
        return inv
    from labkit.backends.workstation.vmrest import VmrestClient  # httpx: only when vmrest is asked

    try:
        client = VmrestClient.from_backend(inv.backend)
        try:
            facts = client.vmnets()
        finally:
            client.close()
    except InputError:
        raise
    except LabkitError as exc:
        raise error(f"no subnet given, no networking files on this machine, and vmrest's /vmnet could not "
                    f"be read: {exc}", ("networks", lacking[0], "type"), field=f"networks.{lacking[0]}.subnet") \
            from None
    return apply_host_facts(inv, facts, error)
