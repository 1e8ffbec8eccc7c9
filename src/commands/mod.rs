//! One function per command; each returns the `Report` that every format renders.

pub mod lint;
pub mod new;
pub mod shadow;
pub mod status;
