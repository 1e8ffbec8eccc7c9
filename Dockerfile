# The migration-guard action image.
#
# The default target (the last stage, `action`) is what GitHub builds for `runs.image:
# Dockerfile` and what the release workflow publishes: the binary compiled with cargo,
# the pinned Supabase CLI, and a small Debian runtime with ca-certificates, git and tini.
#
# `--target local` builds the same runtime around a binary that was compiled beforehand,
# from a base image already present on the machine, with no registry (see
# scripts/build-action-image.sh). It comes before every stage that needs a registry,
# because a classic (non-BuildKit) builder builds every stage up to its target.
#
#   docker build -t migration-guard .                              # the published image
#   docker build --build-arg SUPABASE_CLI=none -t migration-guard . # without the Supabase CLI
#   scripts/build-action-image.sh                                  # the local image

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim
# `download` adds the Supabase CLI to the image, `none` leaves it out.
ARG SUPABASE_CLI=download

# ---------------------------------------------------------------------------------------
# The runtime every image shares. It runs as root with no WORKDIR, as GitHub requires of
# container actions (the workspace is mounted at /github/workspace and made the working
# directory). tini is PID 1: it forwards SIGINT/SIGTERM from a cancelled job to the binary,
# which then removes its shadow containers, and it reaps zombies.
FROM ${RUNTIME_IMAGE} AS runtime
# The workspace belongs to the runner's user, not to root: without `safe.directory` git
# refuses to read it ("dubious ownership"). --system, because HOME is /github/home.
# postgresql-client: pg_dump for the schema backup before a production deploy.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git tini postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/migration-guard"]

# ---------------------------------------------------------------------------------------
# A binary compiled beforehand, from the build context (target/action-image/ is the one
# path of target/ that .dockerignore lets through). The glob and the `.github` folder (its
# contents are ignored, so it is an empty folder in the context) keep this stage buildable
# when there is no such binary: a classic builder building the default target passes
# through here too.
FROM runtime AS local
COPY .github target/action-image/migration-guar[d] /usr/local/bin/

# ---------------------------------------------------------------------------------------
# The release binary. Dependencies are compiled in their own layer against placeholder
# sources, so that layer is reused until Cargo.toml or Cargo.lock change.
FROM ${RUST_IMAGE} AS builder
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY benches benches
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src target/release/.fingerprint/migration-guard-* \
      target/release/deps/migration_guard-* target/release/deps/libmigration_guard-*
COPY src src
RUN cargo build --release --locked \
 && install -m 0755 target/release/migration-guard /usr/local/bin/migration-guard

# ---------------------------------------------------------------------------------------
# The Supabase CLI, pinned and verified against the checksums its release publishes
# (`checksums.txt` listing supabase_<version>_linux_amd64.tar.gz since 2.99;
# `supabase_<version>_checksums.txt` listing supabase_linux_amd64.tar.gz before). Set
# SUPABASE_CLI_SHA256 to the archive's sha256 to require that exact archive as well, and
# SUPABASE_CLI_RELEASES to a mirror of the release downloads where github.com is out of reach.
FROM ${RUST_IMAGE} AS supabase-cli-fetch
ARG SUPABASE_CLI
ARG SUPABASE_CLI_VERSION=2.115.0
ARG SUPABASE_CLI_SHA256=
ARG SUPABASE_CLI_RELEASES=https://github.com/supabase/cli/releases/download
WORKDIR /fetch
# With SUPABASE_CLI=none a BuildKit build skips this stage; a classic builder, which
# builds it anyway, downloads nothing.
RUN set -eu; \
    mkdir -p /out; \
    if [ "${SUPABASE_CLI}" = none ]; then exit 0; fi; \
    base="${SUPABASE_CLI_RELEASES}/v${SUPABASE_CLI_VERSION}"; \
    curl -fsL -o sums.txt "${base}/checksums.txt" \
      || curl -fsSL -o sums.txt "${base}/supabase_${SUPABASE_CLI_VERSION}_checksums.txt"; \
    asset="$(grep -Eo "supabase_(${SUPABASE_CLI_VERSION}_)?linux_amd64\.tar\.gz\$" sums.txt | head -n 1)"; \
    test -n "${asset}" || { echo "no linux_amd64 archive in the checksums of v${SUPABASE_CLI_VERSION}" >&2; exit 1; }; \
    curl -fsSL -o "${asset}" "${base}/${asset}"; \
    grep "  ${asset}\$" sums.txt | sha256sum -c -; \
    if [ -n "${SUPABASE_CLI_SHA256}" ]; then echo "${SUPABASE_CLI_SHA256}  ${asset}" | sha256sum -c -; fi; \
    mkdir unpacked; \
    tar -xzf "${asset}" -C unpacked; \
    install -m 0755 unpacked/supabase /out/supabase; \
    if [ -f unpacked/supabase-go ]; then install -m 0755 unpacked/supabase-go /out/supabase-go; fi; \
    /out/supabase --version

# SUPABASE_CLI picks one of these two; each has /out, the CLI's folder or an empty one.
FROM scratch AS supabase-cli-download
COPY --from=supabase-cli-fetch /out/ /out/

FROM scratch AS supabase-cli-none
WORKDIR /out

# The programs of the image, gathered in /out so that one COPY brings them (a classic
# builder can fail on a COPY that adds nothing followed by another COPY).
FROM supabase-cli-${SUPABASE_CLI} AS programs
COPY --from=builder /usr/local/bin/migration-guard /out/migration-guard

# ---------------------------------------------------------------------------------------
# The default target: the image GitHub runs and the release publishes.
FROM runtime AS action
COPY --from=programs /out/ /usr/local/bin/
