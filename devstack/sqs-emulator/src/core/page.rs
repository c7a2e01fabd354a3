//! Pagination of the listing actions (ListQueues, ListDeadLetterSourceQueues): items sorted
//! by a key, a page after the token's key, the token the last key in URL-safe base64.

use super::error::{Result, SqsError};

/// A page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// A token for the next page, when there is one.
    pub next_token: Option<String>,
}

/// Pages `items` (sorted by `key`) after the token's key; a token only when `max_results` is set.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    max_results: Option<i64>,
    next_token: Option<&str>,
    key: impl Fn(&T) -> String,
) -> Result<Page<T>> {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let after = match next_token.filter(|t| !t.is_empty()) {
        Some(token) => Some(
            engine
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    SqsError::invalid_parameter("NextToken", token, "Invalid NextToken value.")
                })?,
        ),
        None => None,
    };
    let limit = match max_results {
        None => 1000,
        Some(m @ 1..=1000) => m as usize,
        Some(m) => {
            return Err(SqsError::invalid_parameter(
                "MaxResults",
                m,
                "MaxResults must be an integer between 1 and 1000.",
            ));
        }
    };
    let mut remaining: Vec<T> = items
        .into_iter()
        .filter(|i| after.as_ref().is_none_or(|a| key(i) > *a))
        .collect();
    let more = remaining.len() > limit;
    remaining.truncate(limit);
    let next_token = (more && max_results.is_some())
        .then(|| remaining.last().map(|i| engine.encode(key(i))))
        .flatten();
    Ok(Page {
        items: remaining,
        next_token,
    })
}
