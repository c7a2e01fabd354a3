//! The on-disk record format: each [`Change`] as a frame of
//! `length (u32 LE) | CRC-32 of the length bytes (u32 LE) | CRC-32 of the payload (u32 LE) |
//! payload (postcard)` — format 1. Format 0 (files with no header) had no check of the
//! length: `length | CRC-32 of the payload | payload`; it is still read.
//!
//! The length's own checksum is what tells a torn last record (a good length, a payload cut
//! short by the end of the file) from a damaged length that happens to point past the end:
//! without it a flipped bit there would pass for a torn tail and be cut, silently.
//!
//! A file starts with a header (magic and format version, `header.rs`); frames follow it.
//!
//! A crash can leave the last frame of a file half written. [`FrameReader`] stops at the first
//! frame that is short or fails its checksum and reports where the good frames end and where
//! the damaged one would end, so that the store can tell a torn last record (cut off) from
//! damage in the middle of a file (refused).

use std::io::{self, Read};

use serde::de::DeserializeOwned;

use crate::core::Change;

/// Frame header: length, its checksum, the payload's checksum.
const HEADER: usize = 12;
/// The frame header of format 0: length and the payload's checksum.
const HEADER_V0: usize = 8;

/// Which frame layout a file uses (from its header, see `header.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Format 0: no check of the length.
    V0,
    /// Format 1: the length carries its own CRC-32.
    V1,
}

impl Layout {
    fn header_len(self) -> usize {
        match self {
            Self::V0 => HEADER_V0,
            Self::V1 => HEADER,
        }
    }
}

/// Frames larger than this are corrupt: a change holds at most a 1 MiB message.
const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Appends `change` to `out` as one frame.
pub fn encode(change: &Change, out: &mut Vec<u8>) -> Result<(), postcard::Error> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    let mut buffer = postcard::to_extend(change, std::mem::take(out))?;
    let payload_len = buffer.len() - start - HEADER;
    let crc = crc32fast::hash(&buffer[start + HEADER..]);
    let len = u32::try_from(payload_len).unwrap_or(u32::MAX).to_le_bytes();
    buffer[start..start + 4].copy_from_slice(&len);
    buffer[start + 4..start + 8].copy_from_slice(&crc32fast::hash(&len).to_le_bytes());
    buffer[start + 8..start + HEADER].copy_from_slice(&crc.to_le_bytes());
    *out = buffer;
    Ok(())
}

/// Why reading stopped before the end of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// The file ends inside a frame (a write cut short).
    Truncated,
    /// A frame's checksum or encoding is wrong.
    Corrupt {
        /// What is wrong.
        why: String,
        /// Where the damaged frame ends (relative to where reading began), when its length
        /// field is plausible.
        frame_end: Option<u64>,
    },
}

impl Damage {
    fn corrupt(why: impl Into<String>, frame_end: Option<u64>) -> Self {
        Self::Corrupt {
            why: why.into(),
            frame_end,
        }
    }
}

/// Reads frames from a file, keeping the offset of the end of the last good one.
pub struct FrameReader<R> {
    input: R,
    layout: Layout,
    good_until: u64,
    damage: Option<Damage>,
    payload: Vec<u8>,
}

impl<R: Read> FrameReader<R> {
    /// Reads frames laid out as `layout` from `input`.
    pub fn new(input: R, layout: Layout) -> Self {
        Self {
            input,
            layout,
            good_until: 0,
            damage: None,
            payload: Vec::new(),
        }
    }

    /// Where the last whole, valid frame ends.
    pub fn good_until(&self) -> u64 {
        self.good_until
    }

    /// What stopped the reading, if it stopped before a clean end.
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }

    /// The next change; `Ok(None)` at the end or at the first damaged frame.
    pub fn next_change(&mut self) -> io::Result<Option<Change>> {
        self.next_as::<Change>()
    }

    /// The next frame's payload read as a `T` (a record of an older format, `legacy.rs`);
    /// `Ok(None)` at the end or at the first damaged frame.
    pub fn next_as<T: DeserializeOwned>(&mut self) -> io::Result<Option<T>> {
        if self.damage.is_some() {
            return Ok(None);
        }
        let header_len = self.layout.header_len();
        let mut header = [0u8; HEADER];
        match read_full(&mut self.input, &mut header[..header_len])? {
            0 => return Ok(None),
            n if n < header_len => return self.stop(Damage::Truncated),
            _ => {}
        }
        let len_bytes = [header[0], header[1], header[2], header[3]];
        let len = u32::from_le_bytes(len_bytes) as usize;
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let crc = match self.layout {
            Layout::V0 => word(4),
            Layout::V1 => {
                if word(4) != crc32fast::hash(&len_bytes) {
                    return self.stop(Damage::corrupt("the length fails its checksum", None));
                }
                word(8)
            }
        };
        if len > MAX_FRAME {
            return self.stop(Damage::corrupt(format!("frame of {len} bytes"), None));
        }
        self.payload.resize(len, 0);
        if read_full(&mut self.input, &mut self.payload)? < len {
            return self.stop(Damage::Truncated);
        }
        let frame_end = Some(self.good_until + (header_len + len) as u64);
        if crc32fast::hash(&self.payload) != crc {
            return self.stop(Damage::corrupt("checksum mismatch", frame_end));
        }
        match postcard::from_bytes::<T>(&self.payload) {
            Ok(change) => {
                self.good_until += (header_len + len) as u64;
                Ok(Some(change))
            }
            Err(e) => self.stop(Damage::corrupt(e.to_string(), frame_end)),
        }
    }

    fn stop<T>(&mut self, damage: Damage) -> io::Result<Option<T>> {
        self.damage = Some(damage);
        Ok(None)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn removed(seq: u64) -> Change {
        Change::Removed { uid: 1, seq }
    }

    fn read_all(bytes: &[u8]) -> (Vec<u64>, u64, Option<Damage>) {
        let mut reader = FrameReader::new(bytes, Layout::V1);
        let mut seqs = Vec::new();
        while let Some(change) = reader.next_change().unwrap() {
            if let Change::Removed { seq, .. } = change {
                seqs.push(seq);
            }
        }
        (seqs, reader.good_until(), reader.damage().cloned())
    }

    #[test]
    fn frames_round_trip() {
        let mut bytes = Vec::new();
        for seq in 0..3 {
            encode(&removed(seq), &mut bytes).unwrap();
        }
        let (seqs, good, damage) = read_all(&bytes);
        assert_eq!(seqs, [0, 1, 2]);
        assert_eq!(good, bytes.len() as u64);
        assert_eq!(damage, None);
    }

    #[test]
    fn a_torn_tail_is_cut_at_the_last_whole_frame() {
        let mut bytes = Vec::new();
        encode(&removed(1), &mut bytes).unwrap();
        let first = bytes.len();
        encode(&removed(2), &mut bytes).unwrap();
        for cut in first + 1..bytes.len() {
            let (seqs, good, damage) = read_all(&bytes[..cut]);
            assert_eq!(seqs, [1], "cut at {cut}");
            assert_eq!(good, first as u64);
            assert_eq!(damage, Some(Damage::Truncated));
        }
    }

    #[test]
    fn a_flipped_bit_in_a_length_is_damage_not_a_torn_tail() {
        let mut bytes = Vec::new();
        encode(&removed(1), &mut bytes).unwrap();
        let first = bytes.len();
        encode(&removed(2), &mut bytes).unwrap();
        encode(&removed(3), &mut bytes).unwrap();
        // The second frame's length now points past the end of the file.
        bytes[first + 1] ^= 0x10;
        let (seqs, good, damage) = read_all(&bytes);
        assert_eq!(seqs, [1]);
        assert_eq!(good, first as u64);
        assert!(
            matches!(
                damage,
                Some(Damage::Corrupt {
                    frame_end: None,
                    ..
                })
            ),
            "{damage:?}"
        );
    }

    #[test]
    fn format_0_frames_are_still_read() {
        // length | CRC-32 of the payload | payload, as the first persistent release wrote.
        let mut v0 = Vec::new();
        for seq in [5, 6] {
            let payload = postcard::to_allocvec(&removed(seq)).unwrap();
            v0.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            v0.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            v0.extend_from_slice(&payload);
        }
        let mut reader = FrameReader::new(&v0[..], Layout::V0);
        let mut seqs = Vec::new();
        while let Some(Change::Removed { seq, .. }) = reader.next_change().unwrap() {
            seqs.push(seq);
        }
        assert_eq!(seqs, [5, 6]);
        assert_eq!(reader.damage(), None);
    }

    #[test]
    fn a_flipped_bit_stops_reading_at_that_frame() {
        let mut bytes = Vec::new();
        encode(&removed(1), &mut bytes).unwrap();
        let first = bytes.len();
        encode(&removed(2), &mut bytes).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        let (seqs, good, damage) = read_all(&bytes);
        assert_eq!(seqs, [1]);
        assert_eq!(good, first as u64);
        assert!(matches!(
            damage,
            Some(Damage::Corrupt { frame_end: Some(end), .. }) if end == bytes.len() as u64
        ));
    }
}
