//! A client of a running `devstack up`'s control socket (feature `client`): one request, one
//! answer, a JSON line each way. The one client devstack's commands, the TUI and the load
//! tester's chaos runs share, so the wire stays in this crate with its types.

use std::path::Path;

use crate::control::{Request, Response};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nothing listens: no stack runs here.
    #[error("no devstack is running here ({path}: {source}); start one with `devstack up`")]
    NotRunning {
        /// The socket's path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The connection broke, or the answer was not one.
    #[error("the running devstack did not answer: {0}")]
    NoAnswer(String),
    /// The stack answered that it could not do it.
    #[error("{0}")]
    Refused(String),
}

/// As [`request`], and an answer that says the request failed is an error with its reason.
pub async fn carried_out(socket: &Path, asked: &Request) -> Result<Response, ControlError> {
    let response = request(socket, asked).await?;
    if response.ok {
        Ok(response)
    } else {
        Err(ControlError::Refused(
            response
                .error
                .unwrap_or_else(|| "the request failed".into()),
        ))
    }
}

/// Sends `request` to the stack listening at `socket` and returns its answer.
pub async fn request(socket: &Path, request: &Request) -> Result<Response, ControlError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|source| ControlError::NotRunning {
            path: socket.display().to_string(),
            source,
        })?;
    let (read, mut write) = stream.into_split();
    let mut line =
        serde_json::to_string(request).map_err(|e| ControlError::NoAnswer(e.to_string()))?;
    line.push('\n');
    write
        .write_all(line.as_bytes())
        .await
        .map_err(|e| ControlError::NoAnswer(e.to_string()))?;
    let answer = BufReader::new(read)
        .lines()
        .next_line()
        .await
        .map_err(|e| ControlError::NoAnswer(e.to_string()))?
        .ok_or_else(|| ControlError::NoAnswer("the connection closed".into()))?;
    serde_json::from_str(&answer).map_err(|e| ControlError::NoAnswer(format!("{e}: {answer}")))
}
