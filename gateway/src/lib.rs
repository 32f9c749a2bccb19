//! The ratewire gateway, in three rooms that import downward only:
//!
//! - [`cli`]: the `ratewire` command — `serve`, `parse`, `check-config`, `new-key` — and the
//!   settings it reads;
//! - [`http`]: the HTTP service — router, authentication, errors and their status codes, and one
//!   module per surface (the API, platforms' webhooks, the widget, the dashboard, email's pages,
//!   the demo); its handlers parse, call the workflow and map its errors;
//! - [`flow`]: the survey workflow behind one narrow handle, knowing nothing of HTTP.

pub mod cli;
pub mod flow;
pub mod http;
