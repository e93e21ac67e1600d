"""A fake vmrest that holds labkit's client to the published contract, not to what labkit expects.

It reads the Swagger 2.0 definition (../shared/specs/workstation-vmrest-1.3.0.swagger.yaml) at
runtime and serves exactly its paths and methods under its basePath, on 127.0.0.1 (HTTP, or HTTPS
with a given certificate). Every request is checked before any state changes: the path and method
exist in the definition, path parameters have their declared type, Accept and (with a body)
Content-Type are the definition's media type, no query string (the definition declares none), and
the body validates against the operation's body schema with jsonschema (`#/definitions/...` refs
resolved in the spec itself; nothing re-typed here). A bad request gets 400 and is recorded in
`violations`, which the tests' autouse fixture turns into a failure. Every response the fake sends
is validated against the operation's response schema for that status too, so the fake cannot
drift from the definition either.

State: VMs (power, NICs, the address each NIC's guest would get on its VMnet), host VMnets, basic
auth, and injected "busy" VMs. Two things the definition leaves open, decided here:
- PUT /vms/{id}/power: the body schema is VMPowerOperation, a bare string; it is read as the raw
  body text (`on`), which is how vmrest and its clients exchange it, then validated as that string.
- GET /vms/{id}/nicips: the definition types `nics` as ONE NicIpStack (vmrest itself sends a list);
  the fake follows the definition and reports the first NIC that has an address.
Guests re-address the moment their NIC moves (there is no guest here to run a DHCP client).
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Network
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
from ruamel.yaml import YAML

DEFAULT_VNET = {"bridged": "vmnet0", "hostonly": "vmnet1", "nat": "vmnet8"}


class Contract:
    """The definition, loaded once: routes, operations and schema validation."""

    def __init__(self, path: Path) -> None:
        self.spec = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8"))
        self.base = self.spec["basePath"]
        self.consumes = self.spec["consumes"]
        self.produces = self.spec["produces"]
        self.routes = []
        self._validators: dict[int, jsonschema.Draft4Validator] = {}
        for template, ops in self.spec["paths"].items():
            names = re.findall(r"\{([^}]+)\}", template)
            pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template))
            self.routes.append((re.compile(f"^{pattern}$"), template, names, ops))

    def route(self, path: str):
        """(template, operations, raw path params) for a path under basePath, or None."""
        if not path.startswith(self.base + "/"):
            return None
        rest = path[len(self.base):]
        for rx, template, names, ops in self.routes:
            m = rx.match(rest)
            if m:
                return template, ops, dict(zip(names, (unquote(g) for g in m.groups()), strict=True))
        return None

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.spec["definitions"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def errors(self, schema: dict, instance) -> list[str]:
        """Swagger 2.0 schemas are JSON Schema draft 4 (plus ignored keywords such as `example`)."""
        validator = self._validators.get(id(schema))
        if validator is None:
            root = {"definitions": self.spec["definitions"], "allOf": [schema]}
            validator = self._validators[id(schema)] = jsonschema.Draft4Validator(root)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
                for e in validator.iter_errors(instance)]


@dataclass
class FakeVm:
    id: str
    path: str
    display_name: str
    power: str = "poweredOff"
    nics: list[dict] = field(default_factory=list)  # NICDevice objects: index, type, vmnet, macAddress
    busy: int | None = None  # an injected error status for every call on this VM (409 or 500)


@dataclass
class FakeVnet:
    name: str
    type: str  # bridged | nat | hostOnly (the definition's spelling)
    subnet: str
    mask: str
    dhcp: str = "true"

    def network(self) -> IPv4Network:
        return IPv4Network(f"{self.subnet}/{self.mask}", strict=False)


class FakeVmrest:
    """The server and its state. start() returns self; `url` is the API root."""

    def __init__(self, spec: Path | Contract, user: str = "labkit", password: str = "s3cret-Pw",
                 tls: ssl.SSLContext | None = None) -> None:
        self.contract = spec if isinstance(spec, Contract) else Contract(spec)
        self.user, self.password, self.tls = user, password, tls
        self.vms: dict[str, FakeVm] = {}
        self.vnets: dict[str, FakeVnet] = {}
        self.requests: list[tuple[str, str]] = []
        self.violations: list[str] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # ---- set-up and inspection ------------------------------------------------------------------

    def add_vm(self, vm_id: str, path: str, name: str, nics: list[tuple[str, str, str]], power="poweredOff"):
        """nics: (type, vmnet, mac) per adapter, indexed from 1 like vmrest."""
        self.vms[vm_id] = FakeVm(vm_id, path, name, power,
                                 [{"index": k, "type": t, "vmnet": v, "macAddress": m}
                                  for k, (t, v, m) in enumerate(nics, 1)])
        return self.vms[vm_id]

    def add_vnet(self, name: str, kind: str, subnet: str, mask: str = "255.255.255.0", dhcp: str = "true"):
        self.vnets[name] = FakeVnet(name, kind, subnet, mask, dhcp)

    def count(self, method: str, pattern: str = "") -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and re.search(pattern, p))

    def take_violations(self) -> list[str]:
        with self.lock:
            out, self.violations = self.violations, []
            return out

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}{self.contract.base}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> FakeVmrest:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-vmrest",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ---- what a guest would have ------------------------------------------------------------------

    def effective_vnet(self, nic: dict) -> str:
        return nic["vmnet"].lower() if nic["type"] == "custom" else DEFAULT_VNET[nic["type"]]

    def guest_address(self, vm: FakeVm, nic: dict) -> tuple[str, str | None] | None:
        """(address/prefix, gateway) the guest holds on this NIC's VMnet: a lease by MAC when DHCP is on."""
        vnet = self.vnets.get(self.effective_vnet(nic))
        if vm.power != "poweredOn" or vnet is None or vnet.dhcp != "true":
            return None
        net = vnet.network()
        slot = int(nic["macAddress"].replace(":", "")[-4:], 16) % 100
        first = 101 if vnet.type == "bridged" else 128
        gateway = {"nat": net.network_address + 2, "bridged": net.network_address + 1}.get(vnet.type)
        return f"{net.network_address + first + slot}/{net.prefixlen}", str(gateway) if gateway else None

    # ---- operations (named by operationId); each returns (status, body) ----------------------------

    def getAllVMs(self, p, body):
        return 200, [{"id": vm.id, "path": vm.path} for vm in self.vms.values()]

    def getVM(self, p, body):
        vm = self._vm(p)
        return 200, {"id": vm.id, "cpu": {"processors": 1}, "memory": 1024}

    def getVMParams(self, p, body):
        vm = self._vm(p)
        if p["name"] != "displayName":
            return 404, _err(404, f"no config parameter {p['name']}")
        return 200, {"name": "displayName", "value": vm.display_name}

    def getPowerState(self, p, body):
        return 200, {"power_state": self._vm(p).power}

    def changePowerState(self, p, body):
        vm = self._vm(p)
        vm.power = {"on": "poweredOn", "off": "poweredOff", "shutdown": "poweredOff", "suspend": "suspended",
                    "pause": "paused", "unpause": "poweredOn"}[body]
        return 200, {"power_state": vm.power}

    def getAllNICDevices(self, p, body):
        vm = self._vm(p)
        return 200, {"num": len(vm.nics), "nics": [dict(n) for n in vm.nics]}

    def updateNICDevice(self, p, body):
        vm = self._vm(p)
        nic = next((n for n in vm.nics if str(n["index"]) == p["index"]), None)
        if nic is None:
            return 404, _err(404, f"no network adapter {p['index']}")
        if body["type"] == "custom" and body["vmnet"].lower() not in self.vnets:
            return 400, _err(400, f"no virtual network {body['vmnet']}")
        nic["type"] = body["type"]
        nic["vmnet"] = body["vmnet"].lower() if body["type"] == "custom" else DEFAULT_VNET[body["type"]]
        self.nic_changed(vm, nic)
        return 200, dict(nic)

    def nic_changed(self, vm: FakeVm, nic: dict) -> None:
        """Called (under the lock) once a NIC has taken its new type and vmnet: a subclass with real
        guests behind it moves the guest's port there."""

    def getIPAddress(self, p, body):
        vm = self._vm(p)
        addrs = [a for a in (self.guest_address(vm, n) for n in vm.nics) if a]
        if not addrs:
            return 409, _err(409, "unable to get the IP address: VMware Tools is not running")
        return 200, {"ip": addrs[0][0].split("/")[0]}

    def getNicInfo(self, p, body):
        vm = self._vm(p)
        held = [(n, a) for n in vm.nics if (a := self.guest_address(vm, n))]
        if not held:
            return 409, _err(409, "unable to get the NIC information: VMware Tools is not running")
        nic, (address, gateway) = held[0]
        out = {"nics": {"mac": nic["macAddress"], "ip": [address, "fe80::20c:29ff:fe00:1/64"],
                        "dhcp4": {"enabled": True, "setting": "dhcp"}}}
        if gateway:
            out["routes"] = [{"dest": "0.0.0.0", "prefix": 0, "nexthop": gateway, "interface": 0, "type": 0,
                              "metric": 100}]
        return 200, out

    def getAllNetworks(self, p, body):
        return 200, {"num": len(self.vnets), "vmnets": [dict(vars(v)) for v in self.vnets.values()]}

    def getMACToIPs(self, p, body):
        if p["vmnet"].lower() not in self.vnets:
            return 404, _err(404, f"no virtual network {p['vmnet']}")
        rows = []
        for vm in self.vms.values():
            for n in vm.nics:
                if self.effective_vnet(n) == p["vmnet"].lower() and (a := self.guest_address(vm, n)):
                    rows.append({"vmnet": p["vmnet"], "mac": n["macAddress"], "ip": a[0].split("/")[0]})
        return 200, {"num": len(rows), "mactoips": rows}

    def _vm(self, p) -> FakeVm:
        vm = self.vms.get(p["id"])
        if vm is None:
            raise _Answer(404, _err(404, f"no VM with id {p['id']}"))
        if vm.busy:
            raise _Answer(vm.busy, _err(vm.busy, "The virtual machine is in use by another operation or locked"))
        return vm


class _Answer(Exception):
    def __init__(self, status: int, body) -> None:
        self.status, self.body = status, body


def _err(code: int, message: str) -> dict:
    return {"code": code, "message": message}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server_fake: FakeVmrest

    def log_message(self, *args) -> None:  # quiet: the tests read `requests` and `violations`
        pass

    def do_GET(self):
        self._serve()

    do_PUT = do_POST = do_DELETE = do_PATCH = do_GET

    def _serve(self) -> None:
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        self._op = None
        with fake.lock:
            fake.requests.append((self.command, url.path))
            try:
                status, body, op = self._handle(fake, url, raw)
            except _Answer as a:
                status, body, op = a.status, a.body, self._op
            if op is not None:
                self._check_response(fake, op, status, body)
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", fake.contract.produces[0])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _bad(self, fake: FakeVmrest, problem: str, status: int = 400):
        fake.violations.append(f"{self.command} {self.path}: {problem}")
        raise _Answer(status, _err(status, problem))

    def _handle(self, fake: FakeVmrest, url, raw: bytes):
        c = fake.contract
        found = c.route(url.path)
        if found is None:
            self._bad(fake, "no such path in the definition", 404)
        template, ops, params = found
        op = ops.get(self.command.lower())
        if op is None:
            self._bad(fake, f"{self.command} is not defined for {template}", 405)
        self._op = op
        if not self._authorized(fake):
            raise _Answer(401, _err(401, "Authentication failed"))
        if url.query:
            self._bad(fake, f"query {url.query!r}: the definition declares no query parameters")
        accept = [a.split(";")[0].strip() for a in self.headers.get("Accept", "").split(",")]
        if not set(accept) & set(c.produces):
            self._bad(fake, f"Accept {self.headers.get('Accept')!r} is not {c.produces[0]}")
        declared = {q["name"]: q for q in op.get("parameters", [])}
        for name, value in params.items():
            kind = declared[name].get("type")
            if not value or (kind == "integer" and not re.fullmatch(r"-?\d+", value)):
                self._bad(fake, f"path parameter {name}={value!r} is not a {kind}")
        body_param = next((q for q in op.get("parameters", []) if q["in"] == "body"), None)
        body = None
        if body_param is None:
            if raw:
                self._bad(fake, "a body was sent to an operation that takes none")
        else:
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype not in c.consumes:
                self._bad(fake, f"Content-Type {ctype!r} is not {c.consumes[0]}")
            body = self._parse(fake, body_param, raw)
        handler = getattr(fake, op["operationId"], None)
        if handler is None:
            self._bad(fake, f"{op['operationId']} is in the definition but the fake does not implement it", 501)
        status, out = handler(params, body)
        return status, out, op

    def _parse(self, fake: FakeVmrest, param: dict, raw: bytes):
        c = fake.contract
        if not raw and param.get("required"):
            self._bad(fake, f"the body ({param['name']}) is required")
        text = raw.decode("utf-8", "replace")
        if c.resolve(param["schema"]).get("type") == "string":
            value = text.strip()
        else:
            try:
                value = json.loads(text)
            except ValueError:
                self._bad(fake, "the body is not JSON")
        problems = c.errors(param["schema"], value)
        if problems:
            self._bad(fake, "body does not match its schema: " + "; ".join(problems))
        return value

    def _authorized(self, fake: FakeVmrest) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == (fake.user, fake.password)

    def _check_response(self, fake: FakeVmrest, op: dict, status: int, body) -> None:
        declared = op["responses"].get(str(status)) or op["responses"].get("default")
        where = f"response {status} to {self.command} {self.path}"
        if declared is None:
            fake.violations.append(f"{where}: status not in the definition")
            return
        schema = declared.get("schema")
        if schema is None:
            if body is not None:
                fake.violations.append(f"{where}: the definition gives this status no body")
            return
        for problem in fake.contract.errors(schema, body):
            fake.violations.append(f"{where} breaks its schema: {problem}")


def default_world(fake: FakeVmrest) -> FakeVmrest:
    """The tutorial's Windows host (../shared/DOMAIN.md §3), as inventory/workstation-vmrest.yml has it."""
    fake.add_vnet("vmnet0", "bridged", "192.168.1.0")
    fake.add_vnet("vmnet1", "hostOnly", "192.168.56.0")
    fake.add_vnet("vmnet8", "nat", "10.0.0.0")
    fake.add_vnet("vmnet2", "hostOnly", "192.168.100.0")
    base = r"C:\Users\lab\Documents\Virtual Machines"
    fake.add_vm("8VQ2J4AS0PFKC2PFQ1H6O8B6L1B3TSKE", rf"{base}\CentOS 6.5\CentOS 6.5.vmx", "CentOS 6.5",
                [("nat", "vmnet8", "00:0c:29:3b:4c:6d")], power="poweredOn")
    fake.add_vm("F0B3MKSDR2GT9FV0JPTM6I2EIS39VVNK", rf"{base}\Windows 7\Windows 7.vmx", "Windows 7",
                [("bridged", "vmnet0", "00:0c:29:7a:01:32")], power="poweredOn")
    fake.add_vm("K2A6QSQ5MDT1OGB3CLMCDPTN7SE1MS7D", rf"{base}\nat2\nat2.vmx", "nat2",
                [("nat", "vmnet8", "00:0c:29:00:00:02")])
    return fake
