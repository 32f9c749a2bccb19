//! The HTTP/1 server under the router: connections accepted up to a cap, and the deadlines that
//! keep silent or slow clients from holding them (see `[http]` in the settings).
//!
//! Each connection has a watchdog that knows which phase it is in:
//! - waiting for a request on a kept-alive connection: closed after `idle_timeout_secs`;
//! - reading a request's headers, from the connection's start or from the first byte after a
//!   pause: closed after `header_read_timeout_secs`, however slowly the bytes trickle in;
//! - answering: the request's body has `body_read_timeout_secs` from the request's start, enforced
//!   by the body itself (a handler reading it gets [`BodyReadTimeout`], answered 408).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The most a request's line and headers may take.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// How long requests in flight have to be answered once the listener is closed.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, answers the
/// requests in flight, closes idle connections, and returns once every connection has ended.
pub async fn serve(listener: TcpListener, router: Router, limits: HttpSettings, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot is taken before accepting: past the cap, connections wait in the kernel's
        // backlog, where they cost this process no memory, until one ends.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(stream, slot, router.clone(), limits.clone(), stopping.clone()));
    }
    drop(listener);
    drop(stopping);
    let _ = stop.send(true);
    // Each connection holds a receiver: this resolves once the last one has ended, unless a
    // handler hangs, which must not keep the process from stopping.
    if tokio::time::timeout(IN_FLIGHT_GRACE, stop.closed()).await.is_err() {
        tracing::warn!("requests still in flight {IN_FLIGHT_GRACE:?} after the listener closed: stopping all the same");
    }
}

/// A failed `accept`: a connection that went away before it was taken is nothing; anything else
/// (out of file descriptors) is logged and given a moment to pass rather than spun on.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "cannot accept connections; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One connection, served until it ends, times out, or the server stops.
async fn connection(
    stream: TcpStream,
    slot: OwnedSemaphorePermit,
    router: Router,
    limits: HttpSettings,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let clock = Arc::new(Clock(Mutex::new(Phase::ReadingHead { since: Instant::now() })));
    // The slot goes with the socket, so an upgraded connection (the widget's WebSocket) keeps
    // counting against the cap after HTTP is done with it.
    let io = TokioIo::new(Watched { stream, clock: clock.clone(), _slot: slot });
    let body_read_timeout = limits.body_read_timeout();
    let service_clock = clock.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let answering = service_clock.answering();
        let deadline = Instant::now() + body_read_timeout;
        let request = request.map(|body| Body::new(DeadlineBody { body, deadline, sleep: None }));
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await?;
            Ok::<_, Infallible>(response.map(|body| Body::new(AnswerBody { body, _answering: answering })))
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        // The header deadline is the watchdog's below: hyper's would also cut idle keep-alives.
        .header_read_timeout(None)
        // Bounds what one connection's headers can hold (431 beyond), rather than hyper's
        // default of its whole ~400 KiB read buffer.
        .max_header_size(MAX_HEADER_BYTES)
        .serve_connection(io, service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let mut stop_seen = false;
    loop {
        let deadline = clock.deadline(&limits);
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(%error, "connection ended");
                }
                return;
            }
            // Answering has no deadline of its own: look again later.
            () = tokio::time::sleep_until(deadline.unwrap_or_else(|| Instant::now() + limits.header_read_timeout())) => {
                if clock.deadline(&limits).is_some_and(|deadline| deadline <= Instant::now()) {
                    // Dropping the connection closes the socket.
                    tracing::debug!("connection closed: too slow or idle too long");
                    return;
                }
            }
            _ = stopping.changed(), if !stop_seen => {
                stop_seen = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Where a connection is in its exchange, and since when.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Kept alive between requests, nothing received yet.
    Idle { since: Instant },
    /// The request's headers are arriving (or due, on a new connection).
    ReadingHead { since: Instant },
    /// The router has the request.
    Answering,
}

struct Clock(Mutex<Phase>);

impl Clock {
    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// When the connection is to be closed if its phase hasn't moved on; none while answering.
    fn deadline(&self, limits: &HttpSettings) -> Option<Instant> {
        match *self.phase() {
            Phase::Idle { since } => Some(since + limits.idle_timeout()),
            Phase::ReadingHead { since } => Some(since + limits.header_read_timeout()),
            Phase::Answering => None,
        }
    }

    fn bytes_arrived(&self) {
        let mut phase = self.phase();
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::ReadingHead { since: Instant::now() };
        }
    }

    /// A request's headers are in; idle again when the answer is done.
    fn answering(self: &Arc<Self>) -> Answering {
        *self.phase() = Phase::Answering;
        Answering(self.clone())
    }
}

/// Held by the answer's body: the connection is idle once the answer has been written (or
/// dropped).
struct Answering(Arc<Clock>);

impl Drop for Answering {
    fn drop(&mut self) {
        *self.0.phase() = Phase::Idle { since: Instant::now() };
    }
}

/// The socket, telling the clock when bytes arrive.
struct Watched {
    stream: TcpStream,
    clock: Arc<Clock>,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.bytes_arrived();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The error a request body gives once `body_read_timeout_secs` has passed without it all.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time (body_read_timeout_secs)")]
pub struct BodyReadTimeout;

/// A request body with a deadline for the whole of it, however slowly its bytes trickle in.
struct DeadlineBody {
    body: Incoming,
    deadline: Instant,
    /// Made only when the body has to be waited for.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyReadTimeout.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// An answer's body, holding the connection in its answering phase until it is written.
struct AnswerBody {
    body: Body,
    _answering: Answering,
}

impl hyper::body::Body for AnswerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Whether the request declares a body longer than `limit` bytes: such a body is refused at
/// once, before any of it is read, rather than waited for.
pub fn declares_more_than(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64)
}

/// How long clients may take, and how many may be connected at once (see [`serve`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Seconds a client has to send a request's headers, from connecting, or from the first byte
    /// of a request on a kept-alive connection. Past it, the connection is closed.
    pub header_read_timeout_secs: u64,
    /// Seconds a request's body has to arrive in full, from when its headers are in. Past it,
    /// 408 `body_timeout`.
    pub body_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    pub idle_timeout_secs: u64,
    /// Connections open at once. Past it, new connections wait in the system's backlog until
    /// one closes. `serve` raises the open-files soft limit to fit it, as far as the hard one
    /// allows.
    pub max_connections: usize,
    /// Seconds between a stop signal and the listener closing, while `/readyz` answers 503 and
    /// everything else is still served: the time a load balancer needs to notice.
    pub shutdown_drain_secs: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 60,
            idle_timeout_secs: 60,
            max_connections: 1024,
            shutdown_drain_secs: 5,
        }
    }
}

impl HttpSettings {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    pub fn shutdown_drain(&self) -> Duration {
        Duration::from_secs(self.shutdown_drain_secs)
    }
}
