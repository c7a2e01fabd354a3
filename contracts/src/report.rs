//! How a binary shows a person an error it cannot go on from: the error, then each cause on
//! its own line — and never a backtrace. `anyhow` prints a captured backtrace with `{:?}`
//! when `RUST_BACKTRACE=1` is set (many developers set it globally), burying "postgres cannot
//! enter this directory" under a wall of `<unknown>` frames. A user error is not a bug;
//! backtraces stay for panics, which print their own.
//!
//! Shared here like [`crate::redact`]: one rule for what every Slipway binary prints on its
//! way out.

use std::error::Error;
use std::fmt::Write as _;

/// `error: …` then `  caused by: …` for each cause, without repeating a cause whose text
/// its parent already ends with (a `{source}` in a message).
pub fn for_people(error: &(dyn Error + 'static)) -> String {
    let mut text = format!("error: {error}");
    let mut shown = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let line = current.to_string();
        if !shown.ends_with(&line) {
            let _ = write!(text, "\n  caused by: {line}");
        }
        shown = line;
        cause = current.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot start postgres")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("postgres cannot enter /root/project")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("reading state: {0}")]
    struct Repeats(#[source] Inner);

    #[test]
    fn the_error_and_its_causes_one_a_line() {
        assert_eq!(
            for_people(&Outer(Inner)),
            "error: cannot start postgres\n  caused by: postgres cannot enter /root/project"
        );
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        assert_eq!(
            for_people(&Repeats(Inner)),
            "error: reading state: postgres cannot enter /root/project"
        );
    }
}
