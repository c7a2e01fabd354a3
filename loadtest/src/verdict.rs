//! A verdict: one rule or check, what was observed, and whether it passed. Its own module so
//! that the summary (which carries verdicts) and the SLOs (which judge a summary) do not
//! import each other.

use serde::{Deserialize, Serialize};

/// A rule's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The rule as given.
    pub rule: String,
    /// What was observed, formatted in the rule's unit; `no data` when nothing was.
    pub observed: String,
    /// Whether it passed. A rule with no data fails.
    pub passed: bool,
}
