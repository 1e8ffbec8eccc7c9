//! Rendering the one `Report` value in every output format.

pub mod annotations;
pub mod json;
pub mod markdown;
pub mod model;
pub mod sarif;
pub mod text;

pub use model::{
    CommandName, Finding, Location, MigrationEntry, MigrationStatus, Report, Severity, Status,
};
