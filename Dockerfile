# The migration-guard action image.
#
# The default target (the last stage, `action`) is what GitHub builds for `runs.image:
# Dockerfile` and what the release workflow publishes (linux/amd64 and linux/arm64): the
# binary compiled with cargo, the pinned Supabase CLI, and a small Debian runtime with
# ca-certificates, git, tini and the PostgreSQL 17 client.
#
# `--target local` builds the same runtime around a binary that was compiled beforehand,
# from a base image already present on the machine, with no registry (see
# scripts/build-action-image.sh). It comes before every stage that needs a registry,
# because a classic (non-BuildKit) builder builds every stage up to its target.
#
#   docker build -t migration-guard .                              # the published image
#   docker build --build-arg SUPABASE_CLI=none -t migration-guard . # without the Supabase CLI
#   docker buildx build --platform linux/amd64,linux/arm64 .        # both architectures
#   scripts/build-action-image.sh                                  # the local image

# The builder is bookworm (glibc 2.36) and the runtime trixie (glibc 2.41): a binary links
# against the builder's glibc and runs on that one or any newer one, never on an older one.
ARG RUST_IMAGE=rust:1.95-bookworm
# trixie, because its postgresql-client is 17: pg_dump dumps servers of its own major and
# older ones, never newer ones, and the schema backup before a production deploy must
# dump a Postgres 17 server (bookworm's client is 15).
ARG RUNTIME_IMAGE=debian:trixie-slim
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
# postgresql-client: pg_dump for the schema backup before a production deploy (17 on
# trixie; scripts/build-action-image.sh builds on a base that has the 17 server).
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
# The rule pages: the binary carries them as the help of its SARIF rules.
COPY docs/rules docs/rules
RUN cargo build --release --locked \
 && install -m 0755 target/release/migration-guard /usr/local/bin/migration-guard

# ---------------------------------------------------------------------------------------
# The Supabase CLI, pinned by version and by the sha256 of each architecture's archive, and
# verified against the checksums its release publishes as well (`checksums.txt` listing
# supabase_<version>_linux_<arch>.tar.gz since 2.99; `supabase_<version>_checksums.txt`
# listing supabase_linux_<arch>.tar.gz before).
#
# Not 2.115.0 or 2.116.0: they run a migration file's statements as a bare
# extended-protocol pipeline, which Postgres treats as no transaction block, so `LOCK
# TABLE` (and `SET LOCAL`, `DECLARE ... WITH HOLD`) fail with SQLSTATE 25P01
# (supabase/cli#6347; the fix, supabase/cli#6354, sends BEGIN ... COMMIT around each batch
# within one Sync). Before moving the pin, run #6347's reproduction through the new CLI:
#   create table public.t (id int primary key);
#   lock table public.t in access exclusive mode;
#   alter table public.t add column note text;
#
# The two sha256 are the ones supabase/homebrew-tap's Formula/supabase.rb gives for this
# version's linux_amd64 and linux_arm64 archives. Bump all three together. An empty
# SUPABASE_CLI_SHA256_<ARCH> leaves only the release's checksum file to check that archive.
# SUPABASE_CLI_RELEASES points at a mirror of the release downloads where github.com is out
# of reach.
#
# TARGETARCH is set by BuildKit (amd64 or arm64, per platform of a multi-platform build); a
# classic builder leaves it empty, and the architecture of the stage's own image decides.
FROM ${RUST_IMAGE} AS supabase-cli-fetch
ARG SUPABASE_CLI
ARG TARGETARCH
ARG SUPABASE_CLI_VERSION=2.120.0
ARG SUPABASE_CLI_SHA256_AMD64=7074584113aa00495beeac661c41fb09f1ddd0a483cd7333894b0d080086dc6e
ARG SUPABASE_CLI_SHA256_ARM64=f1747691843837be981fba9f92bf30bf1ddb8cee937ba3806454325af12a8ffc
ARG SUPABASE_CLI_RELEASES=https://github.com/supabase/cli/releases/download
WORKDIR /fetch
# With SUPABASE_CLI=none a BuildKit build skips this stage; a classic builder, which
# builds it anyway, downloads nothing.
RUN set -eu; \
    mkdir -p /out; \
    if [ "${SUPABASE_CLI}" = none ]; then exit 0; fi; \
    arch="${TARGETARCH:-}"; \
    if [ -z "${arch}" ]; then arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"; fi; \
    case "${arch}" in \
      amd64|x86_64) arch=amd64; pinned="${SUPABASE_CLI_SHA256_AMD64}" ;; \
      arm64|aarch64) arch=arm64; pinned="${SUPABASE_CLI_SHA256_ARM64}" ;; \
      *) echo "no Supabase CLI archive for the architecture ${arch}: amd64 or arm64" >&2; exit 1 ;; \
    esac; \
    base="${SUPABASE_CLI_RELEASES}/v${SUPABASE_CLI_VERSION}"; \
    curl -fsL -o sums.txt "${base}/checksums.txt" \
      || curl -fsSL -o sums.txt "${base}/supabase_${SUPABASE_CLI_VERSION}_checksums.txt"; \
    asset="supabase_${SUPABASE_CLI_VERSION}_linux_${arch}.tar.gz"; \
    grep -q "  ${asset}\$" sums.txt || asset="supabase_linux_${arch}.tar.gz"; \
    grep -q "  ${asset}\$" sums.txt \
      || { echo "no linux_${arch} archive in the checksums of v${SUPABASE_CLI_VERSION}" >&2; exit 1; }; \
    curl -fsSL -o "${asset}" "${base}/${asset}"; \
    grep "  ${asset}\$" sums.txt | sha256sum -c -; \
    if [ -n "${pinned}" ]; then \
      echo "${pinned}  ${asset}" | sha256sum -c -; \
    else \
      echo "warning: no pinned sha256 for linux_${arch}; only the release's checksums were checked" >&2; \
    fi; \
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
