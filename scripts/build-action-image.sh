#!/usr/bin/env bash
# Builds the action's container image from a binary compiled beforehand, with no registry:
# the Dockerfile's `local` target on top of the local Debian trixie base with PostgreSQL 17
# that `scripts/build-postgres-image.sh 17` makes (built first when it is missing), so the
# image's pg_dump is 17, as in the published image (debian:trixie-slim's postgresql-client).
#
#   scripts/build-action-image.sh [BINARY [TAG]]
#
# BINARY defaults to target/release/migration-guard (`cargo build --release`), TAG to
# migration-guard/action:local. The binary must be built for Debian trixie's glibc (2.41) or
# an older one (bookworm's 2.36, for instance). Its debug info is stripped from the copy
# that goes into the image; the rest of the image is Docker's layer cache, so a rebuild
# with an unchanged binary is instant.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
binary="${1:-$root/target/release/migration-guard}"
tag="${2:-migration-guard/action:local}"
major=17
base="migration-guard/debian-postgresql:$major"

[[ -x "$binary" ]] || {
  echo "no executable at $binary: run \`cargo build --release\` or pass the binary's path" >&2
  exit 2
}

if ! docker image inspect "$base" >/dev/null 2>&1; then
  "$root/scripts/build-postgres-image.sh" "$major"
fi
if ! docker image inspect "$base" >/dev/null 2>&1; then
  # postgres:17 is there but its base lost its tag: the script makes the base on its way
  # to a postgres image, so build one under a throwaway tag.
  "$root/scripts/build-postgres-image.sh" "$major" migration-guard/base-build:tmp
  docker rmi migration-guard/base-build:tmp >/dev/null
fi

# The one path of target/ that .dockerignore lets into the build context.
staged="$root/target/action-image/migration-guard"
mkdir -p "$(dirname "$staged")"
cp "$binary" "$staged.tmp"
if command -v strip >/dev/null; then
  strip --strip-debug "$staged.tmp"
fi
chmod 0755 "$staged.tmp"
mv -f "$staged.tmp" "$staged"

previous="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
docker build -q --force-rm --target local --build-arg "RUNTIME_IMAGE=$base" -t "$tag" "$root" >/dev/null
# The image the tag named before is left without a name: remove it, unless a container
# or another tag still uses it.
if [[ -n "$previous" && "$previous" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]]; then
  docker rmi "$previous" >/dev/null 2>&1 || true
fi
echo "built $tag"
