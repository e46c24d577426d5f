//! The `bellhop` binary's parts: configuration, the adapters (terminal; Discord), the simulated
//! platform of `bellhop demo`, and the assembly of the core from configuration.

pub mod app;
pub mod config;
pub mod demo;
pub mod discord;
pub mod http;
pub mod presence;
pub mod run;
pub mod scheduler;
pub mod shell;
pub mod simulated;
pub mod slack;
