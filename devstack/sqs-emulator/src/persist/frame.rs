//! The on-disk record format: each [`Change`] as a frame of
//! `length (u32 LE) | CRC-32 of the payload (u32 LE) | payload (postcard)`.
//!
//! A crash can leave the last frame of a file half written. [`FrameReader`] stops at the first
//! frame that is short or fails its checksum and reports where the good frames end, so the
//! file can be cut back to its last whole record.

use std::io::{self, Read};

use crate::core::Change;

/// Frame header: length and checksum.
const HEADER: usize = 8;

/// Frames larger than this are corrupt: a change holds at most a 1 MiB message.
const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Appends `change` to `out` as one frame.
pub fn encode(change: &Change, out: &mut Vec<u8>) -> Result<(), postcard::Error> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    let mut buffer = postcard::to_extend(change, std::mem::take(out))?;
    let payload_len = buffer.len() - start - HEADER;
    let crc = crc32fast::hash(&buffer[start + HEADER..]);
    let len = u32::try_from(payload_len).unwrap_or(u32::MAX);
    buffer[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buffer[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
    *out = buffer;
    Ok(())
}

/// Why reading stopped before the end of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// The file ends inside a frame (a write cut short).
    Truncated,
    /// A frame's checksum or encoding is wrong.
    Corrupt(String),
}

/// Reads frames from a file, keeping the offset of the end of the last good one.
pub struct FrameReader<R> {
    input: R,
    good_until: u64,
    damage: Option<Damage>,
    payload: Vec<u8>,
}

impl<R: Read> FrameReader<R> {
    /// Reads from `input`.
    pub fn new(input: R) -> Self {
        Self {
            input,
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
        if self.damage.is_some() {
            return Ok(None);
        }
        let mut header = [0u8; HEADER];
        match read_full(&mut self.input, &mut header)? {
            0 => return Ok(None),
            n if n < HEADER => return self.stop(Damage::Truncated),
            _ => {}
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len > MAX_FRAME {
            return self.stop(Damage::Corrupt(format!("frame of {len} bytes")));
        }
        self.payload.resize(len, 0);
        if read_full(&mut self.input, &mut self.payload)? < len {
            return self.stop(Damage::Truncated);
        }
        if crc32fast::hash(&self.payload) != crc {
            return self.stop(Damage::Corrupt("checksum mismatch".into()));
        }
        match postcard::from_bytes::<Change>(&self.payload) {
            Ok(change) => {
                self.good_until += (HEADER + len) as u64;
                Ok(Some(change))
            }
            Err(e) => self.stop(Damage::Corrupt(e.to_string())),
        }
    }

    fn stop(&mut self, damage: Damage) -> io::Result<Option<Change>> {
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
        let mut reader = FrameReader::new(bytes);
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
        assert!(matches!(damage, Some(Damage::Corrupt(_))));
    }
}
