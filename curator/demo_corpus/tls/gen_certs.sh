#!/bin/sh
# Regenerate the demo-only TLS material (a tiny CA + a leaf for *.demo.test). Not a secret: see README.md.
# Usage: sh gen_certs.sh   (run from this folder; needs the openssl CLI)
set -eu
HOSTS="news.demo.test blog.demo.test weekly-cn.demo.test gbk-portal.demo.test devnotes.demo.test"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
san="DNS:*.demo.test,DNS:demo.test"
for h in $HOSTS; do san="$san,DNS:$h"; done
san="$san,DNS:localhost,IP:127.0.0.1"

cat > "$tmp/ca.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = curator demo CA (demo only, not secret)
O = curator demo corpus
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF

cat > "$tmp/leaf.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = *.demo.test
O = curator demo corpus
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 36500 \
  -keyout "$tmp/ca.key" -out demo-ca.pem -config "$tmp/ca.cnf"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
  -keyout server.key -out "$tmp/leaf.csr" -config "$tmp/leaf.cnf"
openssl x509 -req -in "$tmp/leaf.csr" -CA demo-ca.pem -CAkey "$tmp/ca.key" -CAcreateserial -CAserial "$tmp/ca.srl" \
  -days 36500 -sha256 -extfile "$tmp/leaf.cnf" -extensions v3_leaf -out server.pem
openssl verify -CAfile demo-ca.pem server.pem
