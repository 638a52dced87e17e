#![doc = include_str!("../README.md")]

pub mod broker;
pub mod cli;
pub mod db;
pub mod http;
pub mod metrics;
pub mod outbox;
pub mod service;
pub mod settings;
pub mod signing;
pub mod telemetry;
pub mod time;
pub mod tombstones;

pub use settings::{CommonSettings, ServiceInfo, Settings};
