#!/usr/bin/env bash
# Installs a Pullback agent on a node, in one command:
#
#   sudo bash install-agent.sh --bundle web1.agent-bundle.tar.gz --software pullback-agent.tar.gz
#
# --bundle    the node's enrollment bundle from `pullback enroll NODE` on the master
#             (agent.yaml, pki/ca.crt, pki/agent.crt, pki/agent.key unless the node made its own, pki/revoked.json)
# --software  the agent software from `npm run package:agent` (built once, on the master's side:
#             the node needs Node.js >= 20 but no compiler and no package registry)
# --root DIR  install below DIR instead of / (for tests and image building); implies --no-start
# --no-start  do not enable and start the systemd service
#
# An existing agent.yaml is kept (the node's allowlists are the node's decision); certificates and
# key are replaced. Exit codes: 0 installed, 1 failed, 2 usage.
set -euo pipefail

bundle="" software="" root="" start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --software) software="$2"; shift 2 ;;
    --root) root="${2%/}"; start=0; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-agent: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$bundle" ] && [ -f "$bundle" ] || { echo "install-agent: --bundle FILE is required and must exist" >&2; exit 2; }
[ -n "$software" ] && [ -f "$software" ] || { echo "install-agent: --software FILE is required and must exist" >&2; exit 2; }
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then echo "install-agent: run as root (it installs a system service)" >&2; exit 1; fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "install-agent: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none)); apt-get install nodejs" >&2
  exit 1
fi

command -v tar >/dev/null || { echo "install-agent: tar is required (apt-get install tar)" >&2; exit 1; }

prefix="$root/opt/pullback-agent"
confdir="$root/etc/pullback-agent"
unitdir="$root/etc/systemd/system"
umask 077

tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$prefix.new"' EXIT
# --no-same-owner: as root, tar would otherwise hand the files to whatever uid built the archive.
tar -xzf "$bundle" -C "$tmp" --no-same-owner || { echo "install-agent: cannot read $bundle as a .tar.gz" >&2; exit 1; }
for f in agent.yaml pki/ca.crt pki/agent.crt; do
  [ -f "$tmp/$f" ] || { echo "install-agent: $bundle is not an enrollment bundle (no $f); make one with \`pullback enroll NODE\` on the master" >&2; exit 1; }
done
# A node enrolled from a certificate request (offline CA, \`enroll --csr\`) made its key here with
# \`pullback-agent keygen\`: its bundle carries no key, and the key already in place is kept.
if [ ! -f "$tmp/pki/agent.key" ] && [ ! -f "$confdir/pki/agent.key" ]; then
  echo "install-agent: $bundle is not an enrollment bundle (no pki/agent.key), and this node has no key at $confdir/pki/agent.key from \`pullback-agent keygen\`; make a bundle with \`pullback enroll NODE\` on the master" >&2
  exit 1
fi

# Software: readable by all (it holds no secret), writable by root only, replaced atomically so a
# running agent keeps its files until restarted.
umask 022
mkdir -p "$(dirname "$prefix")"
rm -rf "$prefix.new"
mkdir -p "$prefix.new"
tar -xzf "$software" -C "$prefix.new" --no-same-owner || { echo "install-agent: cannot read $software as a .tar.gz" >&2; exit 1; }
[ -f "$prefix.new/packages/agent/dist/src/cli.js" ] || { echo "install-agent: $software does not contain the agent (make it with \`npm run package:agent\`)" >&2; exit 1; }
# Native codecs were packed as built on the packaging machine: refuse them on another platform now
# rather than fail at the first backup.
if [ -f "$prefix.new/pullback-agent.json" ]; then
  want=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).target' "$prefix.new/pullback-agent.json")
  have=$(node -p 'process.platform+"-"+process.arch+"-"+(process.report.getReport().header.glibcVersionRuntime?"gnu":"musl")')
  if [ "$want" != "$have" ]; then
    echo "install-agent: $software was packaged for $want but this node is $have; run \`npm run package:agent\` on a $have machine" >&2
    exit 1
  fi
fi
rm -rf "$prefix.old"
[ -d "$prefix" ] && mv "$prefix" "$prefix.old"
mv "$prefix.new" "$prefix"
rm -rf "$prefix.old"
chmod -R go-w "$prefix"

# Config and identity: the directory and key readable by root only.
umask 077
mkdir -p "$confdir/pki"
chmod 700 "$confdir" "$confdir/pki"
if [ -f "$confdir/agent.yaml" ]; then
  echo "install-agent: keeping the existing $confdir/agent.yaml (new template: $confdir/agent.yaml.new)"
  install -m 600 "$tmp/agent.yaml" "$confdir/agent.yaml.new"
else
  install -m 600 "$tmp/agent.yaml" "$confdir/agent.yaml"
fi
install -m 644 "$tmp/pki/ca.crt" "$confdir/pki/ca.crt"
install -m 644 "$tmp/pki/agent.crt" "$confdir/pki/agent.crt"
[ -f "$tmp/pki/agent.key" ] && install -m 600 "$tmp/pki/agent.key" "$confdir/pki/agent.key"
[ -f "$tmp/pki/revoked.json" ] && install -m 644 "$tmp/pki/revoked.json" "$confdir/pki/revoked.json"

mkdir -p "$unitdir"
install -m 644 "$prefix/deploy/systemd/pullback-agent.service" "$unitdir/pullback-agent.service"

# Fail now, not at the first backup, if config or certificates are wrong.
node "$prefix/packages/agent/dist/src/cli.js" check --config "$confdir/agent.yaml"

if [ "$start" = 1 ]; then
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now pullback-agent.service
    systemctl restart pullback-agent.service
    echo "install-agent: pullback-agent is running (journalctl -u pullback-agent)"
  else
    echo "install-agent: systemd is not running here; start the agent with:"
    echo "  node $prefix/packages/agent/dist/src/cli.js serve --config $confdir/agent.yaml"
  fi
fi
echo "install-agent: installed into ${root:-/}"
