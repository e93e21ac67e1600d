"""The vmrest client against the fake vmrest (the swagger definition's paths, media type and schemas)."""

from __future__ import annotations

import json
import logging
import socket
from ipaddress import IPv4Address, IPv4Interface

import httpx
import pytest
from pydantic import ValidationError

from labkit.errors import BackendError, InputError
from labkit.model import Backend
from labkit.backends.workstation.vmrest import MEDIA_TYPE, Nic, VmrestClient, VmrestError, base_url
from tests.backends.workstation.conftest import PASSWORD, PASSWORD_ENV

CENTOS = "8VQ2J4AS0PFKC2PFQ1H6O8B6L1B3TSKE"
NAT2 = "K2A6QSQ5MDT1OGB3CLMCDPTN7SE1MS7D"


def client_for(fake, password: str = PASSWORD, **kwargs) -> VmrestClient:
    return VmrestClient(fake.url, "labkit", password, **kwargs)


def backend(port: int, **fields) -> Backend:
    return Backend(type="workstation", host=fields.pop("host", "127.0.0.1"), port=port, user="labkit",
                   password_env=PASSWORD_ENV, **fields)


def test_lists_vms_with_paths_and_display_names(fake_vmrest):
    c = client_for(fake_vmrest)
    vms = c.list_vms()
    assert [v.id for v in vms] == list(fake_vmrest.vms)
    assert vms[0].path.endswith(r"\CentOS 6.5\CentOS 6.5.vmx")
    assert [c.display_name(v.id) for v in vms] == ["CentOS 6.5", "Windows 7", "nat2"]


def test_nic_switch_is_stored_and_read_back(fake_vmrest):
    c = client_for(fake_vmrest)
    assert c.nics(CENTOS) == [Nic(1, "nat", "vmnet8", "00:0c:29:3b:4c:6d")]
    for kind, vmnet in [("bridged", "vmnet0"), ("hostonly", "vmnet1"), ("custom", "vmnet2"), ("nat", "vmnet8")]:
        assert c.set_nic(CENTOS, 1, kind, vmnet).type == kind
        assert (c.nics(CENTOS)[0].type, c.nics(CENTOS)[0].vmnet) == (kind, vmnet)
    assert fake_vmrest.count("PUT", r"/nic/1$") == 4


def test_power_and_guest_addresses(fake_vmrest):
    c = client_for(fake_vmrest)
    assert c.power_state(NAT2) == "poweredOff"
    assert c.ip(NAT2) is None and c.nic_ips(NAT2) == []  # Tools cannot answer for a VM that is off: 409
    assert c.set_power(NAT2, "on") == "poweredOn"
    nics = c.nic_ips(NAT2)
    assert len(nics) == 1 and nics[0].mac == "00:0c:29:00:00:02"
    assert nics[0].addresses == (IPv4Interface("10.0.0.130/24"),)  # IPv6 addresses are left out
    assert nics[0].gateway == IPv4Address("10.0.0.2")  # the default route's next hop, inside the NIC's subnet
    assert c.ip(NAT2) == "10.0.0.130"
    assert c.mac_to_ip("vmnet8")["00:0c:29:00:00:02"] == IPv4Address("10.0.0.130")
    assert c.set_power(NAT2, "off") == "poweredOff"


def test_vmnets_become_vnet_facts(fake_vmrest):
    facts = {f.name: f for f in client_for(fake_vmrest).vmnets()}
    assert facts["vmnet8"].type == "nat" and str(facts["vmnet8"].subnet) == "10.0.0.0/24"
    assert facts["vmnet1"].type == "hostonly" and facts["vmnet2"].type == "hostonly"  # vmrest says hostOnly
    assert (str(facts["vmnet8"].dhcp.start), str(facts["vmnet8"].dhcp.server)) == ("10.0.0.128", "10.0.0.254")
    assert facts["vmnet0"].type == "bridged" and facts["vmnet0"].dhcp is None  # the LAN's DHCP is not VMware's


def test_nicips_as_vmrest_sends_it_a_list():
    """The 1.3.0 definition types nics as one object (the fake follows it); vmrest sends a list."""
    body = {"nics": [{"mac": "00:0C:29:00:00:01", "ip": ["10.0.0.5/24"]},
                     {"mac": "00:0c:29:00:00:02", "ip": ["192.168.56.7/24", "fe80::1/64"]}],
            "routes": [{"dest": "0.0.0.0", "prefix": 0, "nexthop": "10.0.0.2", "interface": 1, "type": 0,
                        "metric": 0}]}
    mock = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    nics = VmrestClient("http://127.0.0.1:1/api", "u", "p", transport=mock).nic_ips("x")
    assert [(n.mac, n.addresses, n.gateway) for n in nics] == [
        ("00:0c:29:00:00:01", (IPv4Interface("10.0.0.5/24"),), IPv4Address("10.0.0.2")),
        ("00:0c:29:00:00:02", (IPv4Interface("192.168.56.7/24"),), None)]


# ---- errors --------------------------------------------------------------------------------------

def test_wrong_password_is_unauthorized_and_never_shown(fake_vmrest, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Secret-Value"
    c = client_for(fake_vmrest, password=wrong)
    with pytest.raises(VmrestError) as err:
        c.list_vms()
    assert err.value.status == 401
    assert "refused the credentials" in str(err.value) and "password_env" in str(err.value)
    for text in (str(err.value), repr(c), caplog.text):
        assert wrong not in text and PASSWORD not in text


def test_unknown_vm_is_not_found(fake_vmrest):
    with pytest.raises(VmrestError, match="not found") as err:
        client_for(fake_vmrest).nics("NOSUCHVM")
    assert err.value.status == 404


@pytest.mark.parametrize("status", [409, 500])
def test_busy_vm_says_busy_or_locked(fake_vmrest, status):
    fake_vmrest.vms[CENTOS].busy = status
    with pytest.raises(VmrestError, match="busy or locked") as err:
        client_for(fake_vmrest).set_nic(CENTOS, 1, "bridged", "vmnet0")
    assert err.value.status == status and "in use" in str(err.value)  # vmrest's own message is kept


def test_nothing_listening_asks_whether_vmrest_runs():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BackendError, match=rf"cannot connect to vmrest at http://127.0.0.1:{port}/api .*is vmrest "
                                           "running"):
        VmrestClient(f"http://127.0.0.1:{port}/api", "labkit", PASSWORD).list_vms()


def test_password_comes_from_the_named_variable(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(InputError, match=f"backend.password_env: environment variable {PASSWORD_ENV} is not set"):
        VmrestClient.from_backend(backend(8697))
    with pytest.raises(InputError, match="backend.password_env"):
        VmrestClient.from_backend(Backend(type="workstation", user="labkit"))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    c = VmrestClient.from_backend(backend(8697))
    assert PASSWORD not in repr(c) and c.url == "http://127.0.0.1:8697/api"


# ---- TLS -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "url"), [
    ({}, "http://127.0.0.1:8697/api"),  # vmrest's default: loopback, plain http
    ({"host": "localhost"}, "http://localhost:8697/api"),
    ({"host": "0:0:0:0:0:0:0:1"}, "http://[0:0:0:0:0:0:0:1]:8697/api"),  # ::1; the model wants a leading digit
    ({"host": "ws.example.org"}, "https://ws.example.org:8697/api"),  # a remote host: https unless told
    ({"ca_file": "/tmp/ca.pem"}, "https://127.0.0.1:8697/api"),  # a CA file means TLS
    ({"tls": True}, "https://127.0.0.1:8697/api"),
])
def test_scheme_follows_the_tls_rules(fields, url):
    assert base_url(backend(8697, **fields)) == url


def test_plain_http_to_a_remote_host_only_when_explicit_and_warned(caplog):
    assert base_url(backend(8697, host="ws.example.org", tls=False)) == "http://ws.example.org:8697/api"
    assert "password crosses the network unencrypted" in caplog.text
    with pytest.raises(ValidationError, match="https only"):  # the inventory refuses it (check names the line)
        backend(8697, tls=False, ca_file="/tmp/ca.pem")
    unchecked = Backend.model_construct(type="workstation", host="127.0.0.1", port=8697, user="labkit",
                                        tls=False, ca_file="/tmp/ca.pem")
    with pytest.raises(InputError, match="https only"):  # and so does the client, built from anything
        base_url(unchecked)


def test_https_verified_with_the_ca_file(start_fake, server_tls, tls_material, vmrest_password):
    fake = start_fake(tls=server_tls)
    c = VmrestClient.from_backend(backend(fake.port, tls=True, ca_file=str(tls_material["ca"])))
    assert c.url.startswith("https://") and len(c.list_vms()) == 3


@pytest.mark.parametrize("ca", ["other_ca", None])
def test_https_refuses_an_unknown_certificate(start_fake, server_tls, tls_material, vmrest_password, ca):
    fake = start_fake(tls=server_tls)
    fields = {"ca_file": str(tls_material[ca])} if ca else {}
    c = VmrestClient.from_backend(backend(fake.port, tls=True, **fields))
    with pytest.raises(BackendError, match="certificate of vmrest .* is not trusted"):
        c.list_vms()
    assert fake.requests == []  # nothing, credentials included, went to the impostor


def test_insecure_is_opt_in_and_warned(start_fake, server_tls, vmrest_password, caplog):
    fake = start_fake(tls=server_tls)
    c = VmrestClient.from_backend(backend(fake.port, tls=True, insecure=True))
    assert len(c.list_vms()) == 3
    assert "verification is OFF" in caplog.text


# ---- the fake holds requests to the definition ------------------------------------------------------

def raw(fake, method: str, path: str, body: bytes | None = None, ctype: str = MEDIA_TYPE, accept: str = MEDIA_TYPE):
    headers = {"Accept": accept, **({"Content-Type": ctype} if body is not None else {})}
    return httpx.request(method, fake.url + path, content=body, headers=headers, auth=("labkit", PASSWORD))


@pytest.mark.parametrize(("method", "path", "body", "kw", "problem"), [
    ("PUT", f"/vms/{CENTOS}/nic/1", {"type": "wifi", "vmnet": "vmnet2"}, {}, "'wifi' is not one of"),
    ("PUT", f"/vms/{CENTOS}/nic/1", {"type": "custom"}, {}, "'vmnet' is a required property"),
    ("PUT", f"/vms/{CENTOS}/nic/1", {"type": "nat", "vmnet": "vmnet8"}, {"ctype": "application/json"},
     "Content-Type 'application/json'"),
    ("GET", f"/vms/{CENTOS}/nic", None, {"accept": "application/json"}, "Accept 'application/json'"),
    ("PUT", f"/vms/{CENTOS}/power", '"on"', {}, "is not one of"),  # the operation is the bare word
    ("GET", "/vms/list", None, {}, None),  # GET /vms/{id} with id "list": allowed, and 404 by state
    ("GET", "/vmnets", None, {}, "GET is not defined for /vmnets"),  # the list is GET /vmnet
    ("GET", "/vms/x/snapshots", None, {}, "no such path"),
])
def test_fake_rejects_what_the_definition_does_not_allow(fake_vmrest, method, path, body, kw, problem):
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode() if body is not None else None
    resp = raw(fake_vmrest, method, path, data, **kw)
    found = fake_vmrest.take_violations()
    if problem is None:
        assert resp.status_code == 404 and found == []
        return
    assert resp.status_code in (400, 404, 405) and len(found) == 1 and problem in found[0]
    assert fake_vmrest.vms[CENTOS].nics[0]["type"] == "nat"  # nothing changed


def test_fake_checks_its_own_responses(fake_vmrest):
    fake_vmrest.getAllVMs = lambda p, body: (200, [{"id": "only-an-id"}])
    raw(fake_vmrest, "GET", "/vms")
    assert any("'path' is a required property" in v for v in fake_vmrest.take_violations())
