//! The header every data file starts with: a magic number and the format version.
//!
//! ```text
//! offset 0   8 bytes  magic  "SLWYSQS\n"
//! offset 8   4 bytes  format version (u32 LE)
//! offset 12           frames (see `frame.rs`)
//! ```
//!
//! The magic says "this is a Slipway SQS data file", so a stray file is never read as one; the
//! version says how to read the frames, so a build never guesses at a format it does not
//! know: it refuses the file instead. Files written before the header existed (Slipway's
//! first persistent release) start straight with a frame; they are read as
//! [`Format::Headerless`]. Older formats are read and rewritten in the current one by the
//! compaction that follows every start:
//!
//! | version | frames | queue records |
//! |---|---|---|
//! | none (0) | length and payload CRC | no region (`legacy.rs`) |
//! | 1 | length CRC too | no region (`legacy.rs`) |
//! | 2 | length CRC too | with their region |

/// The magic number: an 8-byte tag, ending in a newline so a text-mode copy shows as damage.
pub const MAGIC: [u8; 8] = *b"SLWYSQS\n";

/// The format version this build writes (it reads every version up to it).
pub const VERSION: u32 = 2;

/// The header's length in bytes.
pub const LEN: usize = 12;

/// The header of a new file in the current format.
pub fn encode() -> [u8; LEN] {
    let mut header = [0u8; LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..].copy_from_slice(&VERSION.to_le_bytes());
    header
}

/// How a file's frames are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The current format: frames start after the header.
    Current,
    /// Format 1: frames as today's, queue records without a region.
    V1,
    /// No header: a file from before the header existed (format 0); frames start at byte 0.
    /// Whether it really is one is only known once its first frame reads well.
    Headerless,
}

/// Why a file's start is not a header this build can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The file ends inside the header (a crash right after the file was created).
    Truncated,
    /// The magic is right, the version is not one this build knows.
    UnknownVersion(u32),
}

/// Reads the start of a file (its first [`LEN`] bytes, or fewer when it is shorter).
pub fn check(start: &[u8]) -> Result<(Format, usize), HeaderError> {
    if start.len() >= LEN && start[..8] == MAGIC {
        let version = u32::from_le_bytes([start[8], start[9], start[10], start[11]]);
        return match version {
            VERSION => Ok((Format::Current, LEN)),
            1 => Ok((Format::V1, LEN)),
            other => Err(HeaderError::UnknownVersion(other)),
        };
    }
    if !start.is_empty() && start.len() < LEN && encode().starts_with(start) {
        return Err(HeaderError::Truncated);
    }
    Ok((Format::Headerless, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_header_is_recognised() {
        assert_eq!(check(&encode()), Ok((Format::Current, LEN)));
    }

    #[test]
    fn another_version_is_refused_and_version_1_is_read() {
        let mut header = encode();
        header[8..].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(check(&header), Err(HeaderError::UnknownVersion(7)));
        header[8..].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(check(&header), Ok((Format::V1, LEN)));
    }

    #[test]
    fn a_header_cut_short_is_a_truncated_file() {
        for cut in 1..LEN {
            assert_eq!(
                check(&encode()[..cut]),
                Err(HeaderError::Truncated),
                "{cut}"
            );
        }
    }

    #[test]
    fn anything_else_is_read_as_headerless() {
        assert_eq!(check(&[9, 0, 0, 0, 1, 2]), Ok((Format::Headerless, 0)));
    }
}
