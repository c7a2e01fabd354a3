//! One proxied connection: the client's socket and the component's, and two directions
//! between them. Each direction is a reader that stamps every chunk with when it arrived and
//! a writer that lets it through as the toxics say — held until its arrival plus the latency
//! (so chunks in flight are not delayed twice), paced to the bandwidth, or dropped in a black
//! hole. The four stages and the cut timer run in the connection's one task, on borrowed
//! halves, so a cut can still set the sockets' linger to zero and reset them. Toxics are
//! read per chunk from the proxy's watch channel: a fault added now acts on connections
//! already open (a pool's).

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::toxics::{Cut, ToxicSet};

/// Bytes read at most in one chunk.
const CHUNK: usize = 16 * 1024;
/// Chunks in flight between a direction's reader and writer.
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

/// One direction: reader and writer, ended when the reader meets the end (the writer then
/// passes the half-close on) or either fails.
async fn direction<R, W>(read: R, write: W, way: Direction, toxics: &watch::Receiver<ToxicSet>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    futures::future::join(reader(read, tx), writer(rx, write, way, toxics.clone())).await;
}

async fn reader<R: AsyncRead + Unpin>(mut read: R, tx: mpsc::Sender<(Instant, Vec<u8>)>) {
    let mut buffer = vec![0_u8; CHUNK];
    loop {
        match read.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let chunk = buffer[..n].to_vec();
                if tx.send((Instant::now(), chunk)).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn writer<W: AsyncWrite + Unpin>(
    mut rx: mpsc::Receiver<(Instant, Vec<u8>)>,
    mut write: W,
    way: Direction,
    toxics: watch::Receiver<ToxicSet>,
) {
    while let Some((arrived, chunk)) = rx.recv().await {
        let (delay, pace, drop) = {
            let set = toxics.borrow();
            if set.is_empty() {
                (None, None, false)
            } else if way == Direction::Downstream {
                (
                    set.delay(),
                    set.transfer_time(chunk.len()),
                    set.black_hole(),
                )
            } else {
                (None, None, set.black_hole())
            }
        };
        if drop {
            continue;
        }
        if let Some(delay) = delay {
            tokio::time::sleep_until((arrived + delay).into()).await;
        }
        if write.write_all(&chunk).await.is_err() {
            return;
        }
        if let Some(pace) = pace {
            tokio::time::sleep(pace).await;
        }
    }
    let _ = write.shutdown().await;
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
