"""Fixtures for the Workstation backend: the fake vmrest (held to the swagger definition) and TLS material.

Every fake a test starts is checked when the test ends: a request that broke the definition, or a
response of the fake that did, fails the test even if the client coped with the 400 it got.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest

from tests.conftest import SHARED, require
from tests.backends.workstation.fake_vmrest import Contract, FakeVmrest, default_world

SPEC = SHARED / "specs" / "workstation-vmrest-1.3.0.swagger.yaml"
PASSWORD_ENV = "LABKIT_VMREST_PASSWORD"
PASSWORD = "s3cret-Pw"


@pytest.fixture
def vmrest_fakes() -> list[FakeVmrest]:
    return []


@pytest.fixture(autouse=True)
def _vmrest_contract(vmrest_fakes):
    yield
    broken = [v for fake in vmrest_fakes for v in fake.violations]
    assert not broken, "requests or responses outside the vmrest definition:\n" + "\n".join(broken)


def load_contract() -> Contract:
    """The definition, read from ../shared (CI has it; a user's clone may not)."""
    require(SPEC.is_file(), f"{SPEC} is absent (the vmrest definition lives in ../shared/specs)")
    return Contract(SPEC)


@pytest.fixture(scope="session")
def contract() -> Contract:
    """The definition, read once per session."""
    return load_contract()


@pytest.fixture
def start_fake(contract, vmrest_fakes):
    """start_fake(tls=None, world=True) -> a running FakeVmrest (stopped at teardown)."""
    def start(tls: ssl.SSLContext | None = None, world: bool = True) -> FakeVmrest:
        fake = FakeVmrest(contract, password=PASSWORD, tls=tls)
        if world:
            default_world(fake)
        vmrest_fakes.append(fake.start())
        return fake

    yield start
    for fake in vmrest_fakes:
        fake.stop()


@pytest.fixture
def fake_vmrest(start_fake) -> FakeVmrest:
    return start_fake()


@pytest.fixture
def vmrest_password(monkeypatch) -> str:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return PASSWORD


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA (cryptography)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    out = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def cert(subject: str, key, issuer_name, issuer_key, *, ca: bool):
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(issuer_name).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def write(name: str, obj) -> Path:
        path = out / name
        if isinstance(obj, x509.Certificate):
            path.write_bytes(obj.public_bytes(serialization.Encoding.PEM))
        else:
            path.write_bytes(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return path

    paths = {}
    for label in ("ca", "other_ca"):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"labkit test {label}")])
        ca_cert = cert(f"labkit test {label}", key, name, key, ca=True)
        paths[label], paths[f"{label}_key"] = write(f"{label}.pem", ca_cert), write(f"{label}.key", key)
        if label == "ca":
            server_key = ec.generate_private_key(ec.SECP256R1())
            paths["cert"] = write("server.pem", cert("127.0.0.1", server_key, name, key, ca=False))
            paths["key"] = write("server.key", server_key)
    return paths


@pytest.fixture
def server_tls(tls_material) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_material["cert"], tls_material["key"])
    return ctx
