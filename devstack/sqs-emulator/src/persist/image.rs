//! A whole emulator's state as one byte string (an *image*): the data-file header, then one
//! frame per queue and per message, exactly as a compaction snapshot writes them. It is what
//! `devstack snapshot` saves and loads through `/_slipway/snapshot`.
//!
//! An image is decoded in full before anything is replaced, so a damaged, truncated or foreign
//! one changes nothing. In-flight messages come back visible with their receive counts; FIFO
//! order and the deduplication ids of messages still held are kept (see [`crate::core::changes`]).

use crate::core::{Change, Sqs};

use super::frame::{Damage, FrameReader, Layout};
use super::header::{self, Format, HeaderError};

/// Why bytes are not an image this build can load.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    /// No header: not an emulator image at all.
    #[error("not an SQS emulator image (it does not start with the emulator's data header)")]
    Foreign,
    /// A header of a format this build does not read.
    #[error(
        "an SQS emulator image of format {version}, but this build reads format {known} only \
         (written by another Slipway version?)"
    )]
    UnknownVersion {
        /// The image's format.
        version: u32,
        /// This build's format.
        known: u32,
    },
    /// A record is cut short or fails its checksum.
    #[error("the SQS emulator image is damaged at byte {offset} ({reason})")]
    Damaged {
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Every queue and message of `sqs`, each queue read under its lock.
pub fn encode(sqs: &Sqs) -> Result<Vec<u8>, postcard::Error> {
    let mut out = header::encode().to_vec();
    sqs.snapshot(|change| super::frame::encode(change, &mut out))?;
    Ok(out)
}

/// The changes an image holds, all of them, or why it cannot be loaded.
pub fn decode(bytes: &[u8]) -> Result<Vec<Change>, ImageError> {
    let start = match header::check(bytes) {
        Ok((Format::Current, len)) => len,
        Ok((Format::V1, _)) => {
            return Err(ImageError::UnknownVersion {
                version: 1,
                known: header::VERSION,
            });
        }
        Ok((Format::Headerless, _)) | Err(HeaderError::Truncated) => {
            return Err(ImageError::Foreign);
        }
        Err(HeaderError::UnknownVersion(version)) => {
            return Err(ImageError::UnknownVersion {
                version,
                known: header::VERSION,
            });
        }
    };
    let mut reader = FrameReader::new(&bytes[start..], Layout::V1);
    let mut changes = Vec::new();
    let damaged = |reader: &FrameReader<&[u8]>, reason: String| ImageError::Damaged {
        offset: start as u64 + reader.good_until(),
        reason,
    };
    loop {
        match reader.next_change() {
            Ok(Some(change)) => changes.push(change),
            Ok(None) => break,
            Err(e) => return Err(damaged(&reader, e.to_string())),
        }
    }
    match reader.damage() {
        None => Ok(changes),
        Some(Damage::Truncated) => Err(damaged(&reader, "cut short".into())),
        Some(Damage::Corrupt { why, .. }) => Err(damaged(&reader, why.clone())),
    }
}

/// Moves every message's times (sent, first received, delayed until) `by_ms` later: an image
/// loaded `by_ms` after it was taken then holds messages as old as they were, with the same
/// delays, retention and deduplication windows left — not messages that expired meanwhile.
pub fn shift_times(changes: &mut [Change], by_ms: u64) {
    let later = |t: &mut u64| *t = t.saturating_add(by_ms);
    for change in changes {
        match change {
            Change::Put {
                message,
                delayed_until,
                ..
            } => {
                later(&mut message.sent_at);
                message.first_received_at.as_mut().map(later);
                delayed_until.as_mut().map(later);
            }
            Change::Received {
                first_received_at, ..
            } => {
                first_received_at.as_mut().map(later);
            }
            Change::Queue(_)
            | Change::QueueDeleted { .. }
            | Change::Removed { .. }
            | Change::Purged { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::core::{ManualClock, SqsSettings};

    fn sqs() -> Arc<Sqs> {
        Sqs::new(SqsSettings::default(), Arc::new(ManualClock::new(1_000)))
    }

    #[test]
    fn an_empty_emulator_is_a_bare_header_and_garbage_is_refused() {
        let image = encode(&sqs()).unwrap();
        assert_eq!(image.len(), header::LEN);
        assert!(decode(&image).unwrap().is_empty());
        assert_eq!(decode(b"PGDMP...").unwrap_err(), ImageError::Foreign);
        assert_eq!(decode(b"").unwrap_err(), ImageError::Foreign);
        let mut newer = image.clone();
        newer[8] = 99;
        assert!(matches!(
            decode(&newer),
            Err(ImageError::UnknownVersion { version: 99, .. })
        ));
        let mut cut = image;
        cut.extend_from_slice(&[1, 2, 3]);
        assert!(
            matches!(decode(&cut), Err(ImageError::Damaged { offset, .. }) if offset == header::LEN as u64)
        );
    }
}
