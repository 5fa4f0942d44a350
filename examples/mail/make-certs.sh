#!/bin/sh
# Creates a throw-away CA and the certificates examples/mail needs.
#   ./make-certs.sh            writes into certs/ next to this script
#   ./make-certs.sh DIR        writes into DIR
# Keys are ECDSA P-256, valid 30 days. For trying snigate only.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/certs"}
mkdir -p "$out"
cd "$out"

ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

# The CA: signs every leaf below; snigate trusts it for server b (rootCAs),
# clients trust it with swaks --tls-ca-path, openssl -CAfile, curl --cacert.
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

leaf a a.mail.example.test              # server a's own (passthrough: clients see it)
leaf b b.mail.example.test              # snigate terminates for this name
leaf b-server smtp-b.internal.test      # server b's own, checked by snigate (serverName)
leaf gw gw.example.test                 # snigate's default certificate (clients without SNI)

rm -f ca.srl
echo "certificates written to $out"
