//! The SQS emulator in a snapshot: its image, read with `GET /_slipway/snapshot` and loaded
//! with `PUT /_slipway/snapshot` (see `sqs_emulator::dev_api::snapshot`). The image is decoded
//! here too, before the load, so that a damaged one is refused before Postgres or Redis is
//! touched; the emulator decodes it again and refuses it as well.

use std::path::Path;

use sqs_emulator::core::Change;
use sqs_emulator::dev_api::snapshot;
use sqs_emulator::persist::{header, image};

use super::SnapshotError;
use super::manifest::{FilePart, SqsPart};

/// The file's name inside a snapshot.
pub const FILE: &str = "sqs.image";

/// Saves the emulator at `endpoint` into `dir/sqs.image`.
pub async fn dump(
    http: &reqwest::Client,
    endpoint: &str,
    dir: &Path,
) -> Result<SqsPart, SnapshotError> {
    let response = http
        .get(snapshot_url(endpoint))
        .send()
        .await
        .map_err(|e| SnapshotError::Sqs(format!("{endpoint}: {e}")))?;
    let taken_at_ms = response
        .headers()
        .get(snapshot::TAKEN_AT_HEADER)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let bytes = answered(response, endpoint).await?;
    let (queues, messages) = count(&bytes)?;
    let path = dir.join(FILE);
    std::fs::write(&path, &bytes).map_err(super::io_at(&path))?;
    Ok(SqsPart {
        image_format: header::VERSION,
        queues,
        messages,
        taken_at_ms,
        file: FilePart::describe(dir, FILE)?,
    })
}

/// Reads and decodes `dir/sqs.image`: the bytes to load, or why they cannot be.
pub fn check(dir: &Path, part: &SqsPart) -> Result<Vec<u8>, SnapshotError> {
    let path = dir.join(&part.file.path);
    let bytes = std::fs::read(&path).map_err(super::io_at(&path))?;
    image::decode(&bytes).map_err(|e| {
        SnapshotError::Refused(format!("{}: {e}; nothing was changed", part.file.path))
    })?;
    Ok(bytes)
}

/// Makes sure `endpoint` is Slipway's emulator (it serves `/_slipway/`), reading nothing big.
pub async fn probe(http: &reqwest::Client, endpoint: &str) -> Result<(), SnapshotError> {
    let url = format!("{}/_slipway/clock", endpoint.trim_end_matches('/'));
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| SnapshotError::Sqs(format!("{endpoint}: {e}")))?;
    answered(response, endpoint).await.map(drop)
}

/// Replaces every queue and message of the emulator at `endpoint`; messages as old as they
/// were when the image was taken at `taken_at_ms`.
pub async fn restore(
    http: &reqwest::Client,
    endpoint: &str,
    bytes: Vec<u8>,
    taken_at_ms: Option<u64>,
) -> Result<(), SnapshotError> {
    let mut url = snapshot_url(endpoint);
    if let Some(taken_at) = taken_at_ms {
        url.push_str(&format!("?taken_at_ms={taken_at}"));
    }
    let response = http
        .put(url)
        .header(
            "content-type",
            sqs_emulator::dev_api::snapshot::CONTENT_TYPE,
        )
        .body(bytes)
        .send()
        .await
        .map_err(|e| SnapshotError::Sqs(format!("{endpoint}: {e}")))?;
    answered(response, endpoint).await.map(drop)
}

fn snapshot_url(endpoint: &str) -> String {
    format!("{}/_slipway/snapshot", endpoint.trim_end_matches('/'))
}

async fn answered(response: reqwest::Response, endpoint: &str) -> Result<Vec<u8>, SnapshotError> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| SnapshotError::Sqs(format!("{endpoint}: {e}")))?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(SnapshotError::Sqs(format!(
            "{endpoint} has no /_slipway/snapshot: snapshots need Slipway's SQS emulator, not \
             another SQS"
        )));
    }
    Err(SnapshotError::Sqs(format!(
        "{endpoint} answered {status}: {}",
        String::from_utf8_lossy(&body).trim()
    )))
}

/// Queues and messages in an image.
fn count(bytes: &[u8]) -> Result<(usize, usize), SnapshotError> {
    let changes = image::decode(bytes)
        .map_err(|e| SnapshotError::Sqs(format!("the image the emulator sent: {e}")))?;
    let queues = changes
        .iter()
        .filter(|c| matches!(c, Change::Queue(_)))
        .count();
    let messages = changes
        .iter()
        .filter(|c| matches!(c, Change::Put { .. }))
        .count();
    Ok((queues, messages))
}
