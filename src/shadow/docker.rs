//! The `docker` provider: the shadow as a real container started through the Docker API.
//!
//! The shadow runs a pull request's SQL, so its container gets no route out: it sits
//! alone on an internal network of its run. On a host whose engine is local, this
//! process reaches it by its address on that network; inside a GitHub container action (a
//! sibling of the shadow, talking to the engine through the mounted socket) this
//! process's own container joins the network. Only where the engine's container
//! addresses cannot be routed to (Docker Desktop, a remote engine, `--docker-reach
//! published`) does the container publish 5432 on the default bridge instead, and a
//! warning says it can reach the network. Containers and networks carry labels naming the
//! tool and the run; they are removed after the run, on failure, on a signal, from
//! `Drop` on a panic, and, if a killed run left one behind, at the next start.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, HostConfig, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio_postgres::Config;

use crate::db::Database;

pub const DEFAULT_IMAGE: &str = "postgres:15";
/// Every shadow container carries this label; its value is the run id.
pub const LABEL: &str = "dev.migration-guard.shadow";
/// Which process owns a shadow container or network: `<hostname>:<pid>`.
pub const OWNER_LABEL: &str = "dev.migration-guard.owner";
/// A shadow whose owner cannot be checked (another host or container on the same engine,
/// or no owner label) is removed only past this age:
/// `MIGRATION_GUARD_STALE_AFTER_SECONDS` overrides it.
const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);
const DATA_DIR: &str = "/var/lib/postgresql/data";
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach the container's Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reach {
    /// The run's internal network: joined by this process's container when it runs in
    /// one of the same engine, routed to from the host when the engine is local; a
    /// published port otherwise.
    Auto,
    /// A port published on the engine's host (the container can reach the network).
    Published,
    /// The run's internal network, joined by this process's own container (a sibling).
    Network,
}

/// Where the shadow container is, for this run.
enum Placement {
    /// Alone on an internal network of the run; `joined` is this process's own
    /// container when it was connected to it.
    Internal {
        network: String,
        joined: Option<String>,
    },
    /// On the default bridge with 5432 published.
    Published,
}

#[derive(Debug, Clone)]
pub struct DockerOptions {
    pub image: String,
    pub reach: Reach,
    pub ready_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(
        "no Docker engine answers at {host}: {source}; start Docker, set DOCKER_HOST, or use --provider local"
    )]
    Unreachable {
        host: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("cannot pull the image {image}: {reason}")]
    Pull { image: String, reason: String },
    #[error("the Docker engine refused to {action} the shadow container: {source}")]
    Engine {
        action: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("cannot find the address of the shadow container: {0}")]
    NoAddress(String),
    #[error(
        "the shadow container ({image}) did not accept connections within {seconds} s{exited}; its last log lines:\n{logs}"
    )]
    NotReady {
        image: String,
        seconds: u64,
        exited: String,
        logs: String,
    },
}

/// A running shadow container; [`DockerShadow::remove`] (or `Drop`) removes it and its
/// network.
pub struct DockerShadow {
    docker: Docker,
    id: String,
    placement: Placement,
    admin: Config,
    removed: bool,
}

impl DockerShadow {
    /// Connects to the engine named by `DOCKER_HOST` (or the default socket).
    pub async fn engine() -> Result<Docker, DockerError> {
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
        let unreachable = |source| DockerError::Unreachable {
            host: host.clone(),
            source,
        };
        let docker = Docker::connect_with_defaults().map_err(unreachable)?;
        match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
            Ok(Ok(_)) => {}
            Ok(Err(source)) => return Err(unreachable(source)),
            Err(_) => return Err(unreachable(bollard::errors::Error::RequestTimeoutError)),
        }
        docker.negotiate_version().await.map_err(unreachable)
    }

    /// Makes sure `image` is present, pulling it with progress when it is not.
    pub async fn ensure_image(docker: &Docker, image: &str) -> Result<(), DockerError> {
        if docker.inspect_image(image).await.is_ok() {
            return Ok(());
        }
        if image.contains("supabase/postgres") {
            tracing::info!(
                "pulling {image}: Supabase's own Postgres is large (about 1.5 GB unpacked); this happens once, then the engine keeps it"
            );
        } else {
            tracing::info!("pulling {image}");
        }
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let mut progress = docker.create_image(Some(options), None, None);
        let mut last_report = Instant::now();
        while let Some(item) = progress.next().await {
            let info = item.map_err(|error| DockerError::Pull {
                image: image.to_string(),
                reason: engine_message(&error),
            })?;
            if let Some(message) = info.error_detail.and_then(|detail| detail.message) {
                return Err(DockerError::Pull {
                    image: image.to_string(),
                    reason: message,
                });
            }
            if last_report.elapsed() > Duration::from_secs(2) {
                last_report = Instant::now();
                let status = info.status.unwrap_or_default();
                let done = info
                    .progress_detail
                    .and_then(|p| Some(format!(" {} / {} MB", p.current? >> 20, p.total? >> 20)))
                    .unwrap_or_default();
                tracing::info!("pulling {image}: {status}{done}");
            }
        }
        Ok(())
    }

    /// Starts a shadow container from `options.image` whose superuser is `superuser`,
    /// and waits until Postgres answers `SELECT 1`.
    pub async fn start(
        docker: Docker,
        options: &DockerOptions,
        superuser: &str,
        run_id: &str,
    ) -> Result<DockerShadow, DockerError> {
        remove_stale(&docker).await;
        let password = format!(
            "{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        );
        let published_host = published_host();
        let own = match options.reach {
            Reach::Published => None,
            Reach::Network => Some(Some(own_container(&docker).await?)),
            Reach::Auto => {
                let joined = match in_container() {
                    true => own_container(&docker).await.ok(),
                    false => None,
                };
                // Otherwise container addresses route only from a local Linux engine's host.
                match joined {
                    Some(own) => Some(Some(own)),
                    None if published_host == "127.0.0.1" && !desktop(&docker).await => Some(None),
                    None => None,
                }
            }
        };
        let placement = match own {
            Some(joined) => {
                let network = format!("migration-guard-shadow-{run_id}");
                docker
                    .create_network(NetworkCreateRequest {
                        name: network.clone(),
                        internal: Some(true),
                        labels: Some(labels(run_id)),
                        ..NetworkCreateRequest::default()
                    })
                    .await
                    .map_err(|source| DockerError::Engine {
                        action: "create the network of",
                        source,
                    })?;
                Placement::Internal { network, joined }
            }
            None => {
                tracing::warn!(
                    "the shadow container is reached through a published port, so it can reach the network; on a local Linux engine it runs on an internal network instead"
                );
                Placement::Published
            }
        };
        let mut host_config = HostConfig {
            // The data directory in memory: durability is worthless in a shadow.
            tmpfs: Some(HashMap::from([(DATA_DIR.to_string(), "rw".to_string())])),
            ..HostConfig::default()
        };
        match &placement {
            Placement::Internal { network, .. } => host_config.network_mode = Some(network.clone()),
            Placement::Published => {
                let binding = PortBinding {
                    // Loopback only on a local engine: the password is the only lock.
                    host_ip: Some(
                        if published_host == "127.0.0.1" {
                            "127.0.0.1"
                        } else {
                            ""
                        }
                        .to_string(),
                    ),
                    host_port: Some(String::new()),
                };
                host_config.port_bindings = Some(HashMap::from([(
                    "5432/tcp".to_string(),
                    Some(vec![binding]),
                )]));
            }
        }
        let official_style = !options.image.contains("supabase/postgres");
        let body = ContainerCreateBody {
            image: Some(options.image.clone()),
            env: Some(vec![
                format!("POSTGRES_PASSWORD={password}"),
                format!("POSTGRES_USER={superuser}"),
                "POSTGRES_DB=postgres".to_string(),
            ]),
            cmd: official_style.then(|| {
                [
                    "postgres",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ]
                .map(String::from)
                .to_vec()
            }),
            labels: Some(labels(run_id)),
            exposed_ports: Some(vec!["5432/tcp".to_string()]),
            host_config: Some(host_config),
            ..ContainerCreateBody::default()
        };
        let create = CreateContainerOptionsBuilder::default()
            .name(&format!("migration-guard-shadow-{run_id}"))
            .build();
        let created = docker.create_container(Some(create), body).await;
        // From here on the container exists: whatever fails, Drop removes it and its network.
        let mut shadow = DockerShadow {
            docker,
            id: String::new(),
            placement,
            admin: Config::new(),
            removed: false,
        };
        shadow.id = created
            .map_err(|source| DockerError::Engine {
                action: "create",
                source,
            })?
            .id;
        tracing::info!("starting the shadow container ({})", options.image);
        shadow
            .docker
            .start_container(&shadow.id, None)
            .await
            .map_err(|source| DockerError::Engine {
                action: "start",
                source,
            })?;
        if let Placement::Internal {
            network,
            joined: Some(own),
        } = &shadow.placement
        {
            shadow
                .docker
                .connect_network(
                    network,
                    NetworkConnectRequest {
                        container: own.clone(),
                        ..NetworkConnectRequest::default()
                    },
                )
                .await
                .map_err(|source| DockerError::Engine {
                    action: "join this process's container to the network of",
                    source,
                })?;
        }
        let (host, port) = shadow.address(&published_host).await?;
        shadow
            .admin
            .host(&host)
            .port(port)
            .user(superuser)
            .password(password)
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(2));
        shadow.wait_ready(options).await?;
        Ok(shadow)
    }

    /// Connection settings for the container's superuser.
    pub fn admin_config(&self) -> Config {
        self.admin.clone()
    }

    /// Removes the container (and its anonymous volumes) and its network.
    pub async fn remove(mut self) {
        self.removed = true;
        teardown(&self.docker, &self.id, &self.placement).await;
    }

    async fn address(&self, published_host: &str) -> Result<(String, u16), DockerError> {
        let inspected = self
            .docker
            .inspect_container(&self.id, None)
            .await
            .map_err(|source| DockerError::Engine {
                action: "inspect",
                source,
            })?;
        let settings = inspected.network_settings.unwrap_or_default();
        if let Placement::Internal { network, .. } = &self.placement {
            let ip = settings
                .networks
                .unwrap_or_default()
                .get(network)
                .and_then(|endpoint| endpoint.ip_address.clone())
                .filter(|ip| !ip.is_empty())
                .ok_or_else(|| {
                    DockerError::NoAddress(format!("no address on network {network}"))
                })?;
            return Ok((ip, 5432));
        }
        let port = settings
            .ports
            .unwrap_or_default()
            .get("5432/tcp")
            .cloned()
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .find_map(|binding| binding.host_port?.parse().ok())
            .ok_or_else(|| DockerError::NoAddress("5432/tcp was not published".to_string()))?;
        Ok((published_host.to_string(), port))
    }

    /// Connect and `SELECT 1` until it works: the first "ready" log line comes from the
    /// image's temporary init server, which listens on no TCP address.
    async fn wait_ready(&self, options: &DockerOptions) -> Result<(), DockerError> {
        let deadline = Instant::now() + options.ready_timeout;
        loop {
            if let Ok(db) = Database::connect(&self.admin).await
                && db.client.simple_query("SELECT 1").await.is_ok()
            {
                return Ok(());
            }
            let running = self
                .docker
                .inspect_container(&self.id, None)
                .await
                .ok()
                .and_then(|inspected| inspected.state?.running)
                .unwrap_or(false);
            if !running || Instant::now() >= deadline {
                return Err(DockerError::NotReady {
                    image: options.image.clone(),
                    seconds: options.ready_timeout.as_secs(),
                    exited: if running {
                        String::new()
                    } else {
                        " (it exited)".to_string()
                    },
                    logs: self.last_logs(20).await,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn last_logs(&self, lines: usize) -> String {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut logs = self.docker.logs(&self.id, Some(options));
        let mut text = String::new();
        while let Some(Ok(chunk)) = logs.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        text.trim_end().to_string()
    }
}

impl Drop for DockerShadow {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // Drop cannot await: remove it from a thread with a runtime of its own.
        let (docker, id) = (self.docker.clone(), self.id.clone());
        let placement = std::mem::replace(&mut self.placement, Placement::Published);
        let removal = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(teardown(&docker, &id, &placement));
            }
        });
        let _ = removal.join();
    }
}

/// Removes the container, then its network (after this process's container left it).
async fn teardown(docker: &Docker, id: &str, placement: &Placement) {
    if !id.is_empty() {
        remove(docker, id).await;
    }
    let Placement::Internal { network, joined } = placement else {
        return;
    };
    if let Some(own) = joined {
        let leave = NetworkDisconnectRequest {
            container: own.clone(),
            force: Some(true),
        };
        if let Err(error) = docker.disconnect_network(network, leave).await {
            tracing::debug!("leaving the shadow's network {network}: {error}");
        }
    }
    if let Err(error) = docker.remove_network(network).await {
        tracing::warn!("could not remove the shadow's network {network}: {error}");
    }
}

async fn remove(docker: &Docker, id: &str) {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    if let Err(error) = docker.remove_container(id, Some(options)).await {
        tracing::warn!("could not remove the shadow container {id}: {error}");
    }
}

/// Our labels: the run, and the process that owns it.
fn labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL.to_string(), run_id.to_string()),
        (
            OWNER_LABEL.to_string(),
            format!("{}:{}", hostname(), std::process::id()),
        ),
    ])
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_default()
}

/// Whether a shadow container or network was left by a run that is gone: its owner is a
/// process of this host that no longer exists, or (owner unknown here) it is older than
/// [`STALE_AFTER`]. A live run's shadow is never touched, however old.
fn abandoned(labels: Option<&HashMap<String, String>>, age: Duration) -> bool {
    let stale_after = std::env::var("MIGRATION_GUARD_STALE_AFTER_SECONDS")
        .ok()
        .and_then(|seconds| seconds.parse().ok())
        .map_or(STALE_AFTER, Duration::from_secs);
    let owner = labels
        .and_then(|labels| labels.get(OWNER_LABEL))
        .and_then(|owner| owner.rsplit_once(':'))
        .and_then(|(host, pid)| Some((host, pid.parse::<i32>().ok()?)));
    match owner {
        Some((host, pid)) if host == hostname() && pid > 0 => {
            // Signal 0 only asks whether the process exists.
            match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
                Ok(()) | Err(nix::errno::Errno::EPERM) => false,
                Err(_) => true,
            }
        }
        _ => age > stale_after,
    }
}

/// Removes shadow containers, and networks, that a killed run left behind.
async fn remove_stale(docker: &Docker) {
    let filters = HashMap::from([("label".to_string(), vec![LABEL.to_string()])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let age = |created: i64| Duration::from_secs(now.saturating_sub(created).max(0) as u64);
    for container in docker
        .list_containers(Some(options))
        .await
        .unwrap_or_default()
    {
        let (Some(id), Some(created)) = (container.id, container.created) else {
            continue;
        };
        if abandoned(container.labels.as_ref(), age(created)) {
            tracing::info!(
                "removing a shadow container left by an earlier run ({})",
                &id[..12.min(id.len())]
            );
            remove(docker, &id).await;
        }
    }
    // A network still in use cannot be removed: only abandoned ones go.
    let options = ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    for network in docker
        .list_networks(Some(options))
        .await
        .unwrap_or_default()
    {
        let created = network
            .created
            .as_deref()
            .and_then(|created| chrono::DateTime::parse_from_rfc3339(created).ok())
            .map(|created| created.timestamp());
        if let (Some(id), Some(created)) = (network.id, created)
            && abandoned(network.labels.as_ref(), age(created))
            && docker.remove_network(&id).await.is_ok()
        {
            tracing::info!("removed a shadow network left by an earlier run");
        }
    }
}

fn in_container() -> bool {
    Path::new("/.dockerenv").exists()
}

/// This process's own container, as the engine knows it (its id is the hostname, since
/// the runner sets none).
async fn own_container(docker: &Docker) -> Result<String, DockerError> {
    let own = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_string())
        .unwrap_or_default();
    let inspected = docker.inspect_container(&own, None).await.map_err(|source| {
        DockerError::NoAddress(format!(
            "this process seems to run in a container, but the engine does not know container {own:?} ({source}); pass --docker-reach published"
        ))
    })?;
    inspected
        .id
        .ok_or_else(|| DockerError::NoAddress(format!("container {own} has no id")))
}

/// Docker Desktop runs the engine in a VM: the host cannot route to container addresses.
async fn desktop(docker: &Docker) -> bool {
    docker
        .info()
        .await
        .ok()
        .and_then(|info| info.operating_system)
        .is_some_and(|os| os.contains("Docker Desktop"))
}

/// Where published ports are reached: the engine's host for a `tcp://` DOCKER_HOST,
/// loopback otherwise.
fn published_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| {
            let rest = host
                .strip_prefix("tcp://")
                .or_else(|| host.strip_prefix("http://"))?;
            let name = rest.rsplit_once(':').map_or(rest, |(name, _)| name);
            (!name.is_empty()).then(|| name.trim_matches(['[', ']']).to_string())
        })
        .unwrap_or_else(|| "127.0.0.1".to_string())
}

/// The engine's own message for an API error, without the wrapper text.
fn engine_message(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    }
}
