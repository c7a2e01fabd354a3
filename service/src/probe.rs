//! `service healthcheck`: asks a running service's own HTTP endpoint whether it is ready,
//! and exits 0 or 1. The container image has no shell and no curl (distroless), so this is
//! what Docker Compose's `healthcheck` runs; Kubernetes uses its own HTTP probes instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Nothing answered in time, or the connection failed.
    #[error("{addr}{path}: {reason}")]
    Unreachable {
        /// Where.
        addr: SocketAddr,
        /// What.
        path: String,
        /// Why.
        reason: String,
    },
    /// An answer other than 200.
    #[error("{addr}{path} answered: {status_line}")]
    NotReady {
        /// Where.
        addr: SocketAddr,
        /// What.
        path: String,
        /// The status line received.
        status_line: String,
    },
}

/// The address to probe for a service listening on `listen`: a wildcard address
/// (`0.0.0.0`, `::`) is probed on loopback.
pub fn probe_addr(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// `GET path` over HTTP/1.0; `Ok` on a 200.
pub async fn check(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(), ProbeError> {
    let unreachable = |reason: String| ProbeError::Unreachable {
        addr,
        path: path.to_owned(),
        reason,
    };
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = vec![0u8; 256];
        let mut read = 0;
        while read < head.len() {
            let n = stream.read(&mut head[read..]).await?;
            if n == 0 || head[..read + n].contains(&b'\n') {
                read += n;
                break;
            }
            read += n;
        }
        Ok::<String, std::io::Error>(String::from_utf8_lossy(&head[..read]).into_owned())
    };
    let answer = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| unreachable(format!("no answer within {timeout:?}")))?
        .map_err(|e| unreachable(e.to_string()))?;
    let status_line = answer.lines().next().unwrap_or_default().trim().to_owned();
    let status = status_line.split_whitespace().nth(1);
    if status == Some("200") {
        Ok(())
    } else {
        Err(ProbeError::NotReady {
            addr,
            path: path.to_owned(),
            status_line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;

    #[test]
    fn wildcards_are_probed_on_loopback() {
        assert_eq!(
            probe_addr("0.0.0.0:8080".parse().unwrap()),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            probe_addr("[::]:80".parse().unwrap()),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            probe_addr("10.1.2.3:9".parse().unwrap()),
            "10.1.2.3:9".parse().unwrap()
        );
    }

    #[tokio::test]
    async fn a_200_passes_and_anything_else_says_what_it_got() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let timeout = Duration::from_secs(2);
        assert!(check(addr, "/ok", timeout).await.is_ok());
        let error = check(addr, "/down", timeout).await.unwrap_err();
        assert!(error.to_string().contains("503"), "{error}");
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let nobody = closed.local_addr().unwrap();
        drop(closed);
        assert!(matches!(
            check(nobody, "/ok", timeout).await,
            Err(ProbeError::Unreachable { .. })
        ));
    }
}
