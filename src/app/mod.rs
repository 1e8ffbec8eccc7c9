//! The top layer: the command line (`cli`), one file per command (`commands`), and the
//! GitHub Action's entry (`action`). `main.rs` dispatches here.

pub mod action;
pub mod cli;
pub mod commands;
