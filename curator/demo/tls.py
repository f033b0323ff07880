"""The demo's throwaway TLS material: a CA and a `*.demo.test` server certificate, made at demo start.

Nothing secret is committed or shipped: each demo server makes its own CA (whose key is dropped at once)
and a leaf signed by it, written where the server runs (the demo workspace, or a temporary folder).
The CA is trusted only through the demo's own `fetch.ca_bundle`, never by the system.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE, CERT_FILE, KEY_FILE = "demo-ca.pem", "server.pem", "server.key"
VALID_FOR = timedelta(days=30)  # a demo server lives for minutes; a stale folder is simply remade


@dataclass(frozen=True)
class DemoTLS:
    ca: Path  # the CA certificate, to trust in addition to the system store
    cert: Path  # the server's certificate
    key: Path  # the server's private key (mode 0600)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "curator demo corpus")])


def make_demo_tls(folder: Path, hosts: list[str]) -> DemoTLS:
    """A fresh CA and a server certificate for `*.demo.test`, `demo.test`, every host, localhost and
    127.0.0.1, written into `folder` (created). The CA's key is never written."""
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime.now(UTC) - timedelta(minutes=5)  # some clock skew between the two ends is fine
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("curator demo CA (demo only, not secret)")
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in ("*.demo.test", "demo.test", *hosts, "localhost")]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder().subject_name(_name("*.demo.test")).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out = DemoTLS(ca=folder / CA_FILE, cert=folder / CERT_FILE, key=folder / KEY_FILE)
    out.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out.key.touch(mode=0o600)
    out.key.chmod(0o600)
    out.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return out
