#!/usr/bin/env bash
# Builds a local image that behaves like the official `postgres:15` (POSTGRES_PASSWORD /
# POSTGRES_USER / POSTGRES_DB, port 5432, initdb on first start) where no registry can be
# reached: debootstrap a Debian root filesystem with postgresql-15, import it, and add
# the entrypoint. Does nothing when the image is already there.
set -euo pipefail

image="${1:-postgres:15}"
base="migration-guard/debian-postgresql:15"
here="$(cd "$(dirname "$0")" && pwd)"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image is present"
  exit 0
fi

if ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap bookworm with postgresql-15 into $rootfs"
  debootstrap --variant=minbase --include=postgresql-15 bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  # The package's own cluster is not used; the entrypoint makes one on first start.
  rm -rf "$rootfs/var/lib/postgresql/15" "$rootfs/etc/postgresql/15/main" "$rootfs/var/cache/apt/archives"/*.deb
  tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
fi

docker build -q -t "$image" "$here/postgres-image" >/dev/null
echo "built $image"
