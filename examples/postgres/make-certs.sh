#!/bin/sh
# Creates a throw-away CA and the certificates examples/postgres needs.
#   ./make-certs.sh            writes into certs/ next to this script
#   ./make-certs.sh DIR        writes into DIR
# Keys are ECDSA P-256, valid 30 days. For trying snigate only.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/certs"}
mkdir -p "$out"
cd "$out"

ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

# The CA: signs every leaf below; snigate trusts it for the backend (rootCAs),
# clients trust it with sslrootcert=certs/ca.pem.
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 30 \
  -subj "/CN=snigate example CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# leaf NAME SAN...: NAME.key and NAME.pem signed by the CA.
leaf() {
  name=$1
  shift
  san=""
  for dns in "$@"; do san="${san:+$san,}DNS:$dns"; done
  openssl req $ec -keyout "$name.key" -out "$name.csr" -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
    "$san" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 30 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}


leaf orders orders.db.example.test     # snigate terminates for this name
leaf legacy legacy.db.example.test     # snigate terminates, re-encrypts to the server
leaf server legacy.db.example.test billing.db.example.test  # the servers' own certificate

rm -f ca.srl
echo "certificates written to $out"
