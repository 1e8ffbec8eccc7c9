#!/usr/bin/env bash
# Builds a local image that behaves like the official `postgres:<major>` (POSTGRES_PASSWORD /
# POSTGRES_USER / POSTGRES_DB, port 5432, initdb on first start) where no registry can be
# reached: debootstrap a Debian root filesystem with the server and the extensions the
# checks use (pgTAP, plpgsql_check), import it as migration-guard/debian-postgresql:<major>,
# and add the entrypoint on top. Does nothing when both images are there and current.
#
#   scripts/build-postgres-image.sh [MAJOR] [IMAGE]
#
# MAJOR is 15 (default, Debian bookworm) or 17 (Debian trixie); IMAGE defaults to
# postgres:<MAJOR>. A lone non-numeric argument is the IMAGE, for major 15 (the form
# scripts/build-action-image.sh uses).
set -euo pipefail

# debootstrap, the package installs and reading the root filesystem it makes (root-only
# files such as etc/shadow) need root: as root (a container, this project's CI machine)
# they run as they are; otherwise through sudo (GitHub's hosted runners: passwordless sudo;
# Docker itself is usable without it there).
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -n "$@"
  else
    echo "root is needed for \`$*\`: run as root or install sudo" >&2
    return 1
  fi
}

# Bump when what goes into the images changes (suites, packages, the cleanup below):
# images stamped with another recipe are rebuilt. 1 was the unlabelled postgresql-15 only.
recipe=2

major=15
image=""
for arg in "$@"; do
  if [[ "$arg" =~ ^[0-9]+$ ]]; then major="$arg"; else image="$arg"; fi
done
image="${image:-postgres:$major}"
base="migration-guard/debian-postgresql:$major"
here="$(cd "$(dirname "$0")" && pwd)"
context="$here/postgres-image"

# The Debian release that ships each major as its own postgresql-<major>.
case "$major" in
  15) suite=bookworm ;;
  17) suite=trixie ;;
  *) echo "unsupported Postgres major $major: 15 (bookworm) or 17 (trixie)" >&2; exit 2 ;;
esac
packages="postgresql-$major,postgresql-$major-pgtap,postgresql-$major-plpgsql-check"

# An edit to the Dockerfile or the entrypoint rebuilds the top image without a recipe bump.
context_hash="$(cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"

label() { # image, key -> the label's value, empty when the image or the label is missing
  docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

base_current() { [[ "$(label "$base" migration-guard.recipe)" == "$recipe" ]]; }
image_current() {
  [[ "$(label "$image" migration-guard.recipe)" == "$recipe" &&
     "$(label "$image" migration-guard.context)" == "$context_hash" ]]
}

# The base is checked too: the action image (scripts/build-action-image.sh) builds on it.
if base_current && image_current; then
  echo "$image is present"
  exit 0
fi

if ! base_current; then
  # debian-archive-keyring: debootstrap checks the Debian archive's signatures with it
  # (Debian has it already; an Ubuntu runner does not).
  if ! command -v debootstrap >/dev/null || [[ ! -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap debian-archive-keyring >/dev/null
  fi
  rootfs="$(mktemp -d)"
  log="$(mktemp)"
  # The tree debootstrap made is root's.
  trap 'as_root rm -rf "$rootfs"; rm -f "$log"' EXIT
  echo "debootstrap $suite with $packages into $rootfs"
  if ! as_root debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" \
      http://deb.debian.org/debian >"$log" 2>&1; then
    # Its own log names the package that failed; the folder goes away with the trap.
    tail -n 20 "$log" >&2
    as_root tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    exit 1
  fi
  # The package's own cluster is not used; the entrypoint makes one on first start.
  as_root rm -rf "$rootfs/var/lib/postgresql/$major" "$rootfs/etc/postgresql/$major/main" \
    "$rootfs/var/cache/apt/archives"/*.deb
  previous_base="$(docker image inspect --format '{{.Id}}' "$base" 2>/dev/null || true)"
  as_root tar -C "$rootfs" -c . | docker import -c "LABEL migration-guard.recipe=$recipe" - "$base" >/dev/null
  # The outdated base stays while an image built on it (an old action image) still uses it.
  [[ -n "$previous_base" ]] && docker rmi "$previous_base" >/dev/null 2>&1 || true
fi

previous="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
docker build -q --force-rm \
  --build-arg "PG_MAJOR=$major" \
  --build-arg "RECIPE=$recipe" \
  --build-arg "CONTEXT_HASH=$context_hash" \
  -t "$image" "$context" >/dev/null
# The image the tag named before is left without a name: remove it unless still in use.
if [[ -n "$previous" && "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ]]; then
  docker rmi "$previous" >/dev/null 2>&1 || true
fi
echo "built $image"
