#!/usr/bin/env bash
# Prints a new Kairos P2P network token: base64 of an edgevpn connection config, the same shape `edgevpn -g -b`
# and `kairosctl generate-token` produce (OTP keys for DHT discovery and for message sealing, room, rendezvous and
# mDNS names, max message size). Needs only POSIX tools plus head/base64 (or openssl); no edgevpn.
#
#   kairos/generate-token.sh            # the token
#   kairos/generate-token.sh --yaml     # the decoded config, to inspect
#
# Anyone holding the token can join the cluster network: keep it out of git (kairos/out/ is ignored).
set -euo pipefail

KEY_LENGTH=43          # edgevpn's default key length
OTP_INTERVAL=9000      # seconds
MAX_MESSAGE_SIZE=20971520  # 20 MiB

# Random [A-Za-z0-9] string of length $1, by rejection sampling random bytes (no modulo bias).
random_string() {
  local want=$1 out=""
  while [ "${#out}" -lt "$want" ]; do
    if [ -r /dev/urandom ]; then
      out+=$(head -c 512 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
    else
      out+=$(openssl rand 512 | LC_ALL=C tr -dc 'A-Za-z0-9')
    fi
  done
  printf '%s' "${out:0:$want}"
}

config() {
  cat <<YAML
otp:
  dht:
    interval: ${OTP_INTERVAL}
    key: $(random_string "$KEY_LENGTH")
    length: ${KEY_LENGTH}
  crypto:
    interval: ${OTP_INTERVAL}
    key: $(random_string "$KEY_LENGTH")
    length: ${KEY_LENGTH}
room: $(random_string "$KEY_LENGTH")
rendezvous: $(random_string "$KEY_LENGTH")
mdns: $(random_string "$KEY_LENGTH")
max_message_size: ${MAX_MESSAGE_SIZE}
trusted_peer_ids: []
protected_store_keys: []
YAML
}

encode() {
  if command -v base64 >/dev/null 2>&1; then base64 | tr -d '\n'; else openssl base64 -A; fi
}

case "${1:-}" in
  --yaml) config ;;
  "") config | encode; echo ;;
  *) echo "usage: $0 [--yaml]" >&2; exit 2 ;;
esac
