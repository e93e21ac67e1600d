"""Find the inventory's VMs in vSphere: by moid, UUID, path or name, within a folder, cluster or host.

A VM entry may name its vSphere VM by managed object id (`moid: vm-42`), instance UUID (`uuid`),
BIOS UUID (`bios_uuid`, what govc and Ansible call the UUID), inventory path (`path`) and name
(`backend_name`, else labkit's `name` when nothing else is given). Every identifier given must fit
the one VM; `folder`, `cluster` and `esxi_host` narrow the candidates. The index of VMs (with
their folders, hosts and clusters) is read in two round trips per run, so finding 50 VMs costs
no more than finding one.

Finding nothing is that VM's failure (a VM may be rebuilt while the rest of the lab runs). An
identifier that several VMs fit, or a scope object that does not exist, is bad input: reported
before anything changes, with each candidate's moid and inventory path, which can be written in
the inventory to address it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyVmomi import vim

from labkit.errors import BackendError, InputError
from labkit.inventory import source_of
from labkit.model import VM, Inventory
from labkit.backends.vsphere import names
from labkit.backends.vsphere.props import moid, retrieve, retrieve_kinds


@dataclass(frozen=True)
class FoundVm:
    obj: vim.VirtualMachine
    moid: str
    name: str  # as vCenter stores it
    path: str  # its inventory path (stored names, '/' between them)
    host: str | None  # its ESXi host's moid
    cluster: str | None  # its cluster's moid (None: a standalone host)
    folders: frozenset[str]  # the moids of every folder it is in
    instance_uuid: str | None
    bios_uuid: str | None

    def describe(self) -> str:
        return f"{names.shown(self.name)} ({self.moid}, at {self.path})"


class VmIndex:
    """Every VM of the datacenter (or vCenter) with where it is, read once."""

    def __init__(self, content: vim.ServiceInstanceContent, dc: vim.Datacenter | None) -> None:
        self.content = content
        self.where = f"datacenter {names.shown(_name(content, dc))}" if dc is not None else "vSphere"
        top = moid(content.rootFolder)
        # parents of folders and datacenters above the datacenter too: paths start at the top
        tree: dict[str, tuple[str, str | None]] = {}  # moid -> (stored name, parent moid)
        for obj, p in retrieve_kinds(content, content.rootFolder, {vim.Folder: ["name", "parent"],
                                                                   vim.Datacenter: ["name", "parent"]}):
            tree[moid(obj)] = (p.get("name", "?"), _ref(p.get("parent")))
        found = retrieve_kinds(content, dc or content.rootFolder, {
            vim.VirtualMachine: ["name", "parent", "parentVApp", "runtime.host", "config.uuid", "config.instanceUuid"],
            vim.VirtualApp: ["name", "parentFolder"],
            vim.HostSystem: ["name", "parent"],
            vim.ClusterComputeResource: ["name"]})
        self.hosts: dict[str, tuple[str, str | None]] = {}  # host moid -> (name, cluster moid)
        self.clusters: dict[str, str] = {}  # cluster moid -> name
        vms = []
        for obj, p in found:
            if isinstance(obj, vim.VirtualApp):
                tree[moid(obj)] = (p.get("name", "?"), _ref(p.get("parentFolder")))
            elif isinstance(obj, vim.HostSystem):
                parent = p.get("parent")
                self.hosts[moid(obj)] = (p.get("name", "?"), moid(parent) if isinstance(
                    parent, vim.ClusterComputeResource) else None)
            elif isinstance(obj, vim.ClusterComputeResource):
                self.clusters[moid(obj)] = p.get("name", "?")
            elif isinstance(obj, vim.VirtualMachine):
                vms.append((obj, p))
        self.vms: list[FoundVm] = []
        for obj, p in vms:
            chain: list[str] = []
            at = _ref(p.get("parent")) or _ref(p.get("parentVApp"))
            while at is not None and at != top and at in tree and len(chain) < 64:
                chain.append(at)
                at = tree[at][1]
            path = "/".join([*(tree[m][0] for m in reversed(chain)), p.get("name", "?")])
            host = _ref(p.get("runtime.host"))
            self.vms.append(FoundVm(obj, moid(obj), p.get("name", "?"), path, host,
                                    self.hosts.get(host or "", ("", None))[1], frozenset(chain),
                                    _lower(p.get("config.instanceUuid")), _lower(p.get("config.uuid"))))


class VmFinder:
    """Finds the inventory's VMs in one VmIndex."""

    def __init__(self, index: VmIndex, inventory: Inventory) -> None:
        self.index = index
        self.inventory = inventory

    def _bad(self, vm: VM, key: str, message: str) -> InputError:
        """An input error located at the VM entry's field `key` (file and line when known)."""
        i = self.inventory.vms.index(vm)
        return source_of(self.inventory).error(message, ("vms", i, key), field=f"vms[{i}].{key}")

    def find(self, vm: VM) -> FoundVm:
        scope = self._scope(vm)  # first: a scope that names nothing is bad input, found or not
        candidates = self._by_identifiers(vm)
        scoped = [f for f in candidates if all(fits(f) for fits in scope)]
        if len(scoped) == 1:
            return scoped[0]
        if not scoped:
            listing = "; ".join(f.describe() for f in candidates[:10])
            raise BackendError(f"no VM {self._what(vm)} {self._scope_words(vm)} (outside it: {listing})")
        listing = "; ".join(f"{f.describe()}, host {self._host_name(f)}" for f in scoped[:20])
        more = f" and {len(scoped) - 20} more" if len(scoped) > 20 else ""
        raise self._bad(vm, self._key(vm), f"{len(scoped)} VMs {self._what(vm)}{self._scope_words(vm, ' ')}: "
                                           f"{listing}{more}. Give its moid or path (or a folder, cluster or "
                                           f"esxi_host) to pick one")

    # ---- identifiers ----

    def _key(self, vm: VM) -> str:
        """The field the user addressed the VM by (where an ambiguity is reported)."""
        for key in ("moid", "uuid", "bios_uuid", "path", "backend_name"):
            if getattr(vm, key):
                return key
        return "name"

    def _what(self, vm: VM) -> str:
        if vm.moid:
            return f"with moid {vm.moid}"
        if vm.uuid:
            return f"with instance UUID {vm.uuid}"
        if vm.bios_uuid:
            return f"with BIOS UUID {vm.bios_uuid}"
        if vm.path:
            return f"at inventory path {vm.path}"
        return f"named {names.shown(names.stored(vm.backend_name or vm.name))!r}"

    def _by_identifiers(self, vm: VM) -> list[FoundVm]:
        """The VMs every given identifier fits; none found by one of them is that VM's failure."""
        vms = self.index.vms
        picks: list[tuple[str, list[FoundVm]]] = []
        if vm.moid:
            picks.append(("moid", [f for f in vms if f.moid == vm.moid]))
        if vm.uuid:
            picks.append(("uuid", [f for f in vms if f.instance_uuid == vm.uuid.lower()]))
        if vm.bios_uuid:
            picks.append(("bios_uuid", [f for f in vms if f.bios_uuid == vm.bios_uuid.lower()]))
        if vm.path:
            picks.append(("path", self._at_path(vm.path)))
        if vm.backend_name or not picks:
            wanted = names.key(vm.backend_name or vm.name)
            picks.append(("name", [f for f in vms if names.key(f.name) == wanted]))
        for key, found in picks:
            if not found:
                raise BackendError(self._not_found(vm, key))
        common = [f for f in picks[0][1] if all(f in found for _, found in picks[1:])]
        if not common:
            said = "; ".join(f"{key} finds {', '.join(f.describe() for f in found[:3])}" for key, found in picks)
            raise self._bad(vm, self._key(vm), f"the identifiers name different VMs: {said}")
        return common

    def _at_path(self, path: str) -> list[FoundVm]:
        index = self.index.content.searchIndex
        if index is None:
            raise BackendError("this vSphere server offers no SearchIndex: cannot look a VM up by path")
        found = index.FindByInventoryPath(names.inventory_path(path))
        if not isinstance(found, vim.VirtualMachine):
            return []
        return [f for f in self.index.vms if f.moid == moid(found)]

    def _not_found(self, vm: VM, key: str) -> str:
        where = self.index.where
        if key == "moid":
            return f"no VM with moid {vm.moid} in {where}"
        if key == "path":
            return f"no VM at inventory path {names.inventory_path(vm.path or '')}"
        if key in ("uuid", "bios_uuid"):
            value = (vm.uuid if key == "uuid" else vm.bios_uuid) or ""
            kind, other, other_key = (("instance", "BIOS", "bios_uuid") if key == "uuid"
                                      else ("BIOS", "instance", "uuid"))
            twin = [f for f in self.index.vms
                    if (f.bios_uuid if key == "uuid" else f.instance_uuid) == value.lower()]
            hint = (f"; it is the {other} UUID of {', '.join(f.describe() for f in twin)}: give it as "
                    f"{other_key}") if twin else ""
            return f"no VM with {kind} UUID {value} in {where}{hint}"
        return f"no VM named {names.shown(names.stored(vm.backend_name or vm.name))!r} in {where}"

    # ---- scope ----

    def _scope(self, vm: VM) -> list[Callable[[FoundVm], bool]]:
        """One test per scope the entry gives (folder, cluster, ESXi host)."""
        tests: list[Callable[[FoundVm], bool]] = []
        if vm.folder:
            folder = self._folder(vm)
            tests.append(lambda f: folder in f.folders)
        if vm.cluster:
            clusters = self._named(vm, "cluster", vm.cluster, self.index.clusters)
            tests.append(lambda f: f.cluster in clusters)
        if vm.esxi_host:
            hosts = self._named(vm, "esxi_host", vm.esxi_host, {k: n for k, (n, _) in self.index.hosts.items()})
            tests.append(lambda f: f.host in hosts)
        return tests

    def _folder(self, vm: VM) -> str:
        index = self.index.content.searchIndex
        path = names.inventory_path(vm.folder or "")
        found = index.FindByInventoryPath(path) if index is not None else None
        if not isinstance(found, vim.Folder):
            raise self._bad(vm, "folder", f"no folder at inventory path {path} (write it as datacenter/vm/folder...)")
        return moid(found)

    def _named(self, vm: VM, key: str, name: str, known: dict[str, str]) -> set[str]:
        found = {m for m, n in known.items() if names.same(name, n)}
        if not found:
            have = ", ".join(sorted(names.shown(n) for n in known.values())[:20]) or "none"
            what = "cluster" if key == "cluster" else "ESXi host"
            raise self._bad(vm, key, f"no {what} named {name!r} in {self.index.where} (there: {have})")
        return found

    def _scope_words(self, vm: VM, lead: str = "") -> str:
        parts = [f"in folder {names.inventory_path(vm.folder)}" if vm.folder else "",
                 f"in cluster {vm.cluster!r}" if vm.cluster else "",
                 f"on ESXi host {vm.esxi_host!r}" if vm.esxi_host else ""]
        said = ", ".join(p for p in parts if p)
        return f"{lead}{said}" if said else ""

    def _host_name(self, f: FoundVm) -> str:
        return names.shown(self.index.hosts.get(f.host or "", ("?", None))[0])


def _ref(obj: object) -> str | None:
    return moid(obj) if obj is not None else None  # type: ignore[arg-type]


def _lower(text: str | None) -> str | None:
    return text.lower() if text else None


def _name(content: vim.ServiceInstanceContent, obj: vim.ManagedEntity) -> str:
    found = retrieve(content, [obj], type(obj), ["name"])
    return str(found[0][1].get("name", moid(obj))) if found else moid(obj)
