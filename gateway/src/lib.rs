//! The ratewire gateway: the HTTP service, and the commands of the `ratewire` binary.

pub mod parse_command;
pub mod serve;
