//! Notices between the gateways of one store: what one gateway did that the others must know at
//! once (a survey changed under a visitor's open widget, held by another gateway). At most once:
//! a notice published while a gateway was reconnecting is lost to it, and it hears a
//! [`Heard::Gap`] instead, to make up for what it missed by reading the store.

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::StoreError;

/// What a listening gateway hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A notice, as published (this gateway's own included).
    Notice(String),
    /// The listening was interrupted and has resumed: notices may have been missed.
    Gap,
}

#[async_trait]
pub trait Notices: Send + Sync {
    /// Tells every gateway listening, this one too.
    async fn publish(&self, notice: &str) -> Result<(), StoreError>;

    /// What is heard from now on. A receiver that falls behind loses the oldest (and sees
    /// `Lagged`, which is a gap too).
    fn listen(&self) -> broadcast::Receiver<Heard>;
}
