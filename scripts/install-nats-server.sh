#!/usr/bin/env bash
# The broker tests start real NATS servers (test/support/nats.ts): Debian's nats-server package,
# installed when it is not on PATH (Debian puts it in /usr/sbin, which a non-root PATH may lack).
# Run as root, or as a user with sudo. No registry ships the server's binary as a package.
set -euo pipefail
export PATH="$PATH:/usr/sbin"
if ! command -v nats-server >/dev/null 2>&1; then
  echo "installing nats-server (Debian package)"
  as_root=()
  if [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null 2>&1; then as_root=(sudo); fi
  "${as_root[@]}" apt-get update >/dev/null
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y nats-server >/dev/null
fi
nats-server --version
