//! How severe a log line is, read from each component's own words:
//! - the service (tracing): the JSON `level` field, or the word after the time of a pretty line;
//! - Postgres: the tag after the prefix (`LOG:`, `WARNING:`, `ERROR:`, `FATAL:`, …);
//! - Redis: the mark after the time (`.` debug, `-` verbose, `*` notice, `#` warning);
//! - cargo and other plain output: a leading `error` or `warning`.
//!
//! A line that says nothing (a continuation, an app's plain output) gets `None`: the reader
//! gives it the level of the line it continues, or `info`.

use slipway_contracts::control::LogLevel;

/// The level `line` states, if it states one.
pub fn level_of(line: &str) -> Option<LogLevel> {
    let line = line.trim_start();
    if line.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        return named(value.get("level")?.as_str()?);
    }
    postgres_level(line)
        .or_else(|| redis_level(line))
        .or_else(|| pretty_level(line))
        .or_else(|| plain_level(line))
}

/// `TRACE`, `debug`, `INFO`, `WARN`, `WARNING`, `ERROR`, …
fn named(word: &str) -> Option<LogLevel> {
    match word.to_ascii_lowercase().as_str() {
        "trace" => Some(LogLevel::Trace),
        "debug" => Some(LogLevel::Debug),
        "info" => Some(LogLevel::Info),
        "warn" | "warning" => Some(LogLevel::Warn),
        "error" => Some(LogLevel::Error),
        _ => None,
    }
}

/// `2026-12-02 03:21:44.495 UTC [18565] WARNING:  …`
fn postgres_level(line: &str) -> Option<LogLevel> {
    if line.get(23..27)? != " UTC" {
        return None;
    }
    let after_pid = line.get(27..)?.trim_start().split_once("] ")?.1;
    let (tag, _) = after_pid.split_once(':')?;
    match tag {
        "DEBUG1" | "DEBUG2" | "DEBUG3" | "DEBUG4" | "DEBUG5" => Some(LogLevel::Debug),
        "LOG" | "INFO" | "NOTICE" => Some(LogLevel::Info),
        "WARNING" => Some(LogLevel::Warn),
        "ERROR" | "FATAL" | "PANIC" => Some(LogLevel::Error),
        // DETAIL, HINT, STATEMENT, CONTEXT: part of the message before them.
        _ => None,
    }
}

/// `18508:M 02 Dec 2026 03:21:42.512 # …`
fn redis_level(line: &str) -> Option<LogLevel> {
    let (pid_role, rest) = line.split_once(' ')?;
    let (pid, role) = pid_role.split_once(':')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) || role.len() != 1 {
        return None;
    }
    match rest.get(24..)?.trim_start().chars().next()? {
        '.' | '-' => Some(LogLevel::Debug),
        '*' => Some(LogLevel::Info),
        '#' => Some(LogLevel::Warn),
        _ => None,
    }
}

/// `2026-12-02T03:21:44.5Z  WARN service: …`
fn pretty_level(line: &str) -> Option<LogLevel> {
    let mut words = line.split_whitespace();
    let first = words.next()?;
    chrono::DateTime::parse_from_rfc3339(first).ok()?;
    named(words.next()?)
}

/// `error[E0308]: …`, `error: could not compile`, `warning: unused import`.
fn plain_level(line: &str) -> Option<LogLevel> {
    let word: String = line.chars().take_while(char::is_ascii_alphabetic).collect();
    match word.as_str() {
        "error" | "ERROR" => Some(LogLevel::Error),
        "warning" | "WARNING" => Some(LogLevel::Warn),
        _ => None,
    }
    .filter(|_| line[word.len()..].starts_with([':', '[']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_components_words_are_read() {
        let cases = [
            (r#"{"level":"WARN","message":"slow"}"#, Some(LogLevel::Warn)),
            (r#"{"level":"debug"}"#, Some(LogLevel::Debug)),
            (
                "2026-12-02T03:21:44.5Z ERROR service: boom",
                Some(LogLevel::Error),
            ),
            (
                "2026-12-02 03:21:44.495 UTC [18565] LOG:  database system is ready",
                Some(LogLevel::Info),
            ),
            (
                "2026-12-02 03:21:44.495 UTC [18565] FATAL:  password authentication failed",
                Some(LogLevel::Error),
            ),
            (
                "2026-12-02 03:21:44.495 UTC [18565] WARNING:  there is no transaction",
                Some(LogLevel::Warn),
            ),
            (
                "2026-12-02 03:21:44.495 UTC [18565] DETAIL:  Key (id)=(1)",
                None,
            ),
            (
                "18508:M 02 Dec 2026 03:21:42.512 * Ready to accept connections",
                Some(LogLevel::Info),
            ),
            (
                "18508:M 02 Dec 2026 03:21:42.512 # WARNING overcommit_memory",
                Some(LogLevel::Warn),
            ),
            ("error[E0308]: mismatched types", Some(LogLevel::Error)),
            ("warning: unused import: `x`", Some(LogLevel::Warn)),
            ("errors happen", None),
            ("   Compiling service v0.1.0", None),
            ("", None),
        ];
        for (line, level) in cases {
            assert_eq!(level_of(line), level, "{line}");
        }
    }
}
