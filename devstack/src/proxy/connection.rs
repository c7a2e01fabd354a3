//! One proxied connection: the client's socket and the component's, and two directions
//! between them. Each direction is one loop that reads a chunk and, while no toxic is in
//! force and nothing is held, writes it straight on from its buffer (what a plain copy
//! costs). Under toxics, a chunk is stamped when it arrives and held until its arrival plus
//! the latency (so chunks in flight are not delayed twice), paced to the bandwidth, or
//! dropped in a black hole; reading goes on while chunks are held, up to a bound. Both
//! directions and the cut timer run in the connection's one task, on borrowed halves, so a
//! cut can still set the sockets' linger to zero and reset them. Toxics are read per chunk
//! from the proxy's watch channel: a fault added now acts on connections already open (a
//! pool's).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::toxics::{Cut, ToxicSet};

/// Bytes read at most in one chunk.
const CHUNK: usize = 16 * 1024;
/// Chunks a direction holds at most under toxics before it stops reading.
const IN_FLIGHT: usize = 64;

/// Which way data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Client to component: only a black hole acts on it.
    Upstream,
    /// Component to client: latency and bandwidth act here too (Toxiproxy's default).
    Downstream,
}

/// Carries one connection until either side closes or a toxic cuts it.
pub async fn serve(mut client: TcpStream, upstream: &str, toxics: watch::Receiver<ToxicSet>) {
    let opened = Instant::now();
    let _ = client.set_nodelay(true);
    // A reset-peer already in force refuses the connection before anything is sent.
    let refused = toxics
        .borrow()
        .cut(opened)
        .is_some_and(|(at, how)| how == Cut::Reset && at <= opened);
    if refused {
        reset(&client);
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        // The component is down (killed, stopped): the client sees its connection refused.
        reset(&client);
        return;
    };
    let _ = server.set_nodelay(true);
    let cut = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let up = direction(client_read, server_write, Direction::Upstream, &toxics);
        let down = direction(server_read, client_write, Direction::Downstream, &toxics);
        tokio::select! {
            _ = futures::future::join(up, down) => None,
            how = cut_when_due(toxics.clone(), opened) => Some(how),
        }
    };
    if cut == Some(Cut::Reset) {
        reset(&client);
        reset(&server);
    }
}

/// Sets a zero linger, so that closing the socket sends a reset.
fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// One direction, until the reader meets the end (the half-close is passed on, after what
/// is held) or either side fails.
async fn direction<R, W>(
    mut read: R,
    mut write: W,
    way: Direction,
    toxics: &watch::Receiver<ToxicSet>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buffer = vec![0_u8; CHUNK];
    let mut held: VecDeque<Held> = VecDeque::new();
    loop {
        let due = held.front().map(|h| h.due);
        tokio::select! {
            biased;
            () = sleep_until(due), if due.is_some() => {
                let Some(chunk) = held.pop_front() else { continue };
                if pass_on(&mut write, chunk, toxics).await.is_err() {
                    return;
                }
            }
            read = read.read(&mut buffer), if held.len() < IN_FLIGHT => {
                let n = match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let arrived = Instant::now();
                let plain = held.is_empty() && toxics.borrow().is_empty();
                if plain {
                    if write.write_all(&buffer[..n]).await.is_err() {
                        return;
                    }
                } else if let Some(chunk) = hold(&buffer[..n], arrived, way, toxics) {
                    held.push_back(chunk);
                }
            }
        }
    }
    while let Some(chunk) = held.pop_front() {
        sleep_until(Some(chunk.due)).await;
        if pass_on(&mut write, chunk, toxics).await.is_err() {
            return;
        }
    }
    let _ = write.shutdown().await;
}

/// A chunk held by a toxic.
struct Held {
    due: Instant,
    bytes: Vec<u8>,
    /// Whether the bandwidth limit applies (what the component sends).
    paced: bool,
}

/// The chunk to hold, or `None` when a black hole takes it.
fn hold(
    bytes: &[u8],
    arrived: Instant,
    way: Direction,
    toxics: &watch::Receiver<ToxicSet>,
) -> Option<Held> {
    let set = toxics.borrow();
    if set.black_hole() {
        return None;
    }
    let delay = match way {
        Direction::Downstream => set.delay().unwrap_or_default(),
        Direction::Upstream => Duration::ZERO,
    };
    Some(Held {
        due: arrived + delay,
        bytes: bytes.to_vec(),
        paced: way == Direction::Downstream,
    })
}

/// Writes a held chunk on (unless a black hole began meanwhile), then waits out the
/// bandwidth its size takes.
async fn pass_on<W: AsyncWrite + Unpin>(
    write: &mut W,
    chunk: Held,
    toxics: &watch::Receiver<ToxicSet>,
) -> std::io::Result<()> {
    let (drop, pace) = {
        let set = toxics.borrow();
        let pace = chunk
            .paced
            .then(|| set.transfer_time(chunk.bytes.len()))
            .flatten();
        (set.black_hole(), pace)
    };
    if drop {
        return Ok(());
    }
    write.write_all(&chunk.bytes).await?;
    if let Some(pace) = pace {
        tokio::time::sleep(pace).await;
    }
    Ok(())
}

/// Sleeps until `at`, or forever without one (a disabled branch never polls it).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Resolves when the toxics in force say this connection is to be cut, and how.
async fn cut_when_due(mut toxics: watch::Receiver<ToxicSet>, opened: Instant) -> Cut {
    loop {
        let due = toxics.borrow_and_update().cut(opened);
        match due {
            Some((at, how)) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => return how,
                    changed = toxics.changed() => if changed.is_err() { return Cut::Close },
                }
            }
            None => {
                if toxics.changed().await.is_err() {
                    // The proxy is gone: leave the connection to its two ends.
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}
