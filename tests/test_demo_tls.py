"""The demo ships no TLS key: the corpus is data only, and each server makes its own CA and certificate."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

from curator.demo.server import CORPUS_DIR, DemoServer
from curator.demo.tls import make_demo_tls


def test_the_corpus_is_data_only_and_holds_no_private_key():
    files = [p for p in CORPUS_DIR.rglob("*") if p.is_file()]
    assert files and not [p for p in files if p.suffix in {".py", ".key", ".pem", ".sh"}]
    assert not [p for p in files if b"PRIVATE KEY" in p.read_bytes()]


def test_a_server_without_a_folder_keeps_its_certificates_in_a_temporary_one():
    with DemoServer() as srv:
        ca = srv.ca_bundle
        ctx = ssl.create_default_context(cafile=ca)  # a valid CA certificate
        assert ctx.cert_store_stats()["x509_ca"] == 1
    assert not Path(ca).exists()  # removed at close


def test_a_server_with_a_folder_writes_them_there_with_a_private_key_file(tmp_path):
    with DemoServer(tls_dir=tmp_path / "tls") as srv:
        assert srv.ca_bundle == str(tmp_path / "tls" / "demo-ca.pem")
    key = tmp_path / "tls" / "server.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not list((tmp_path / "tls").glob("*ca*.key"))  # the CA's key is never written


def test_each_start_makes_a_new_ca(tmp_path):
    a = make_demo_tls(tmp_path / "a", ["news.demo.test"])
    b = make_demo_tls(tmp_path / "b", ["news.demo.test"])
    assert a.ca.read_bytes() != b.ca.read_bytes()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)  # the pair matches
