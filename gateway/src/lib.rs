//! The ratewire gateway: the HTTP service for businesses, agents and the web widget, and the
//! commands of the `ratewire` binary.

pub mod api;
pub mod app;
pub mod auth;
pub mod conversations;
pub mod dashboard;
pub mod demo;
pub mod email_pages;
pub mod error;
pub mod hooks;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod parse_command;
pub mod records;
pub mod sending;
pub mod serve;
pub mod server;
pub mod service;
pub mod settings;
pub mod widget;
