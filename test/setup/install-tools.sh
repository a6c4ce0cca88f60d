#!/usr/bin/env bash
# Installs the external programs the test suite and benchmarks use, from Debian's
# packages, when any is missing. Idempotent; needs root (CI and dev machines run as root).
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have crun || need+=(crun)
have runc || need+=(runc)
have skopeo || need+=(skopeo)
have umoci || need+=(umoci)
have zstd || need+=(zstd)
have buildah || need+=(buildah)
have podman || need+=(podman)
have docker-registry || need+=(docker-registry)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)
have unshare || need+=(util-linux)
have apache2-utils 2>/dev/null || have htpasswd || need+=(apache2-utils)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-tools: missing ${need[*]}; run as root or install them: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "install-tools: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
