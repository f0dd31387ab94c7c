#!/usr/bin/env bash
# Renders the Kairos profiles (control-plane, worker-amd64, worker-arm64) with one network token, so that every node
# booted from them joins the same cluster.
#
#   kairos/render.sh -k "github:<user>" [-t TOKEN] [-o DIR] [-x SHA256] [-a SHA256] [-m URL]
#
#   -k  SSH key for user kairos: "ssh-ed25519 AAAA…" or "github:<user>" (required)
#   -t  network token (default: reuse DIR/network-token, else generate one with generate-token.sh)
#   -o  output directory (default: kairos/out; ignored by git: it holds the token)
#   -x  sha256 of containerd-shim-spin-v2-linux-x86_64.tar.gz    (from the release page; verified on the node)
#   -a  sha256 of containerd-shim-spin-v2-linux-aarch64.tar.gz
#   -m  base URL of a mirror of the containerd-shim-spin releases, for air-gapped sites
#       (default https://github.com/spinframework/containerd-shim-spin/releases/download)
#
# Then boot each machine from the Kairos image of its arch with DIR/<profile>.yaml as its cloud-config
# (installer web UI, `kairos-agent manual-install`, a config_url, or AuroraBoot).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="$here/out" token="" key="" sha_x86="" sha_arm="" base_url="https://github.com/spinframework/containerd-shim-spin/releases/download"
while getopts "k:t:o:x:a:m:h" opt; do
  case "$opt" in
    k) key=$OPTARG ;;
    t) token=$OPTARG ;;
    o) out=$OPTARG ;;
    x) sha_x86=$OPTARG ;;
    a) sha_arm=$OPTARG ;;
    m) base_url=${OPTARG%/} ;;
    h) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
[ -n "$key" ] || { echo "render.sh: -k <ssh key or github:user> is required" >&2; exit 2; }
for sum in "$sha_x86" "$sha_arm"; do
  [ -z "$sum" ] || [[ "$sum" =~ ^[0-9a-f]{64}$ ]] || { echo "render.sh: '$sum' is not a sha256" >&2; exit 2; }
done

umask 077
mkdir -p "$out"
if [ -z "$token" ]; then
  if [ -s "$out/network-token" ]; then token="$(cat "$out/network-token")"; else token="$("$here/generate-token.sh")"; fi
fi
printf '%s\n' "$token" > "$out/network-token"

# Escapes a value for the replacement side of a sed s|||g command.
esc() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }
# The placeholders sit in single-quoted YAML scalars, where a quote is written twice.
key=${key//\'/\'\'}

for profile in control-plane worker-amd64 worker-arm64; do
  sed -e "s|@NETWORK_TOKEN@|$(esc "$token")|g" \
      -e "s|@SSH_AUTHORIZED_KEY@|$(esc "$key")|g" \
      -e "s|@SHIM_SHA256_X86_64@|$(esc "$sha_x86")|g" \
      -e "s|@SHIM_SHA256_AARCH64@|$(esc "$sha_arm")|g" \
      -e "s|@SHIM_BASE_URL@|$(esc "$base_url")|g" \
      "$here/$profile.yaml" > "$out/$profile.yaml"
  if grep -n '@[A-Z0-9_]*@' "$out/$profile.yaml" >&2; then
    echo "render.sh: unfilled placeholder in $out/$profile.yaml" >&2
    exit 1
  fi
done
echo "rendered control-plane, worker-amd64, worker-arm64 into $out (network token in $out/network-token)"
