//! `GET /v1/projects/{ref}/health`: whether the project's services (database, REST, auth…)
//! answer after a deploy.

use std::fmt;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::client::{ApiError, Client, Replay};

/// One service's state as the API reports it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServiceHealth {
    pub name: String,
    /// Absent from older answers; then `healthy` decides.
    #[serde(default)]
    pub status: Option<HealthStatus>,
    /// Deprecated by the API in favour of `status`.
    #[serde(default)]
    pub healthy: bool,
    #[serde(default)]
    pub info: Option<Value>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum HealthStatus {
    ActiveHealthy,
    ComingUp,
    Unhealthy,
    /// A status this client does not know, kept as the API spelled it.
    Other(String),
}

impl From<String> for HealthStatus {
    fn from(status: String) -> Self {
        match status.as_str() {
            "ACTIVE_HEALTHY" => HealthStatus::ActiveHealthy,
            "COMING_UP" => HealthStatus::ComingUp,
            "UNHEALTHY" => HealthStatus::Unhealthy,
            _ => HealthStatus::Other(status),
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthStatus::ActiveHealthy => "ACTIVE_HEALTHY",
            HealthStatus::ComingUp => "COMING_UP",
            HealthStatus::Unhealthy => "UNHEALTHY",
            HealthStatus::Other(status) => status,
        })
    }
}

impl ServiceHealth {
    pub fn is_healthy(&self) -> bool {
        match &self.status {
            Some(status) => *status == HealthStatus::ActiveHealthy,
            None => self.healthy,
        }
    }

    /// A service that was asked about and left out of the answer: not known to be healthy.
    fn missing(name: &str) -> Self {
        ServiceHealth {
            name: name.to_owned(),
            status: None,
            healthy: false,
            info: None,
            error: Some("not in the API's answer".to_owned()),
        }
    }
}

/// `None` when every service is healthy; else one line naming each unhealthy service with
/// its status and error, e.g. `auth COMING_UP; rest UNHEALTHY (connection refused)`.
pub fn describe_unhealthy(services: &[ServiceHealth]) -> Option<String> {
    let parts: Vec<String> = services
        .iter()
        .filter(|service| !service.is_healthy())
        .map(|service| {
            let mut part = service.name.clone();
            if let Some(status) = &service.status {
                part = format!("{part} {status}");
            }
            match service.error.as_deref().map(str::trim) {
                Some(error) if !error.is_empty() => {
                    let error = error.split_whitespace().collect::<Vec<_>>().join(" ");
                    format!("{part} ({error})")
                }
                _ if service.status.is_none() => format!("{part} unhealthy"),
                _ => part,
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

impl Client {
    /// The health of `services` (`db`, `rest`, `auth`, `storage`, `realtime`, `pooler`…) of
    /// the project `project_ref`, one entry per service asked about: a service the answer
    /// leaves out is reported unhealthy, so "all healthy" never holds vacuously.
    pub async fn health(
        &self,
        project_ref: &str,
        services: &[&str],
    ) -> Result<Vec<ServiceHealth>, ApiError> {
        let action = format!("check the health of project {project_ref}");
        let mut url = self.project_url(project_ref, &["health"]);
        // Commas kept literal, as the API documents the list.
        url.set_query(Some(&format!("services={}", services.join(","))));
        let answer = self
            .call(&action, Method::GET, url, None, Replay::Always)
            .await?;
        let mut reported: Vec<ServiceHealth> = self.decode(&action, &answer)?;
        for service in &mut reported {
            service.error = service.error.as_deref().map(|e| self.hide_token(e));
        }
        for name in services {
            if !reported.iter().any(|service| service.name == *name) {
                reported.push(ServiceHealth::missing(name));
            }
        }
        Ok(reported)
    }
}
