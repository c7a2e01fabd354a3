//! One log line: when it was written, and how to show it.
//!
//! Each server writes time its own way, so each format is recognised by its shape:
//! - the service (tracing): JSON objects with a `timestamp` (RFC 3339), or a pretty line that
//!   starts with one;
//! - Postgres (devstack sets `log_line_prefix = '%m [%p] '` and `log_timezone = UTC`):
//!   `2026-12-02 03:21:44.495 UTC [18565] LOG:  …`;
//! - Redis: `18508:M 02 Dec 2026 03:21:42.512 * …`, in the machine's local time.
//!
//! A line with no time of its own (a continuation, cargo's output) takes the time of the line
//! before it.

use chrono::{DateTime, Local, NaiveDateTime, NaiveTime, TimeZone as _, Utc};

/// When `line` was written, if it says.
pub fn timestamp_of(line: &str) -> Option<DateTime<Utc>> {
    let line = line.trim_start();
    if line.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        return parse_rfc3339(value.get("timestamp")?.as_str()?);
    }
    let first = line.split_whitespace().next()?;
    parse_rfc3339(first)
        .or_else(|| postgres_time(line))
        .or_else(|| redis_time(line))
}

fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `2026-12-02 03:21:44.495 UTC …`
fn postgres_time(line: &str) -> Option<DateTime<Utc>> {
    let stamp = line.get(..23)?;
    if line.get(23..27)? != " UTC" {
        return None;
    }
    NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.3f")
        .ok()
        .map(|t| t.and_utc())
}

/// `18508:M 02 Dec 2026 03:21:42.512 …` (local time).
fn redis_time(line: &str) -> Option<DateTime<Utc>> {
    let (pid_role, rest) = line.split_once(' ')?;
    let (pid, role) = pid_role.split_once(':')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) || role.len() != 1 {
        return None;
    }
    let stamp = rest.get(..24)?;
    let naive = NaiveDateTime::parse_from_str(stamp, "%d %b %Y %H:%M:%S%.3f").ok()?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// `line` without the time it starts with, for a reader that shows the time itself (the
/// TUI's Logs view): an RFC 3339 time, the `HH:MM:SS.mmm` of a rendered JSON line, Postgres's
/// `2026-12-02 03:21:44.495 UTC `, Redis's `18508:M 02 Dec 2026 03:21:42.512 ` (the pid and
/// role go with it). Any other line is returned as it is.
pub fn strip_time(line: &str) -> &str {
    let trimmed = line.trim_start();
    let first = trimmed.split_whitespace().next().unwrap_or_default();
    let clock = first.len() == 12 && NaiveTime::parse_from_str(first, "%H:%M:%S%.3f").is_ok();
    if clock || parse_rfc3339(first).is_some() {
        return trimmed[first.len()..].trim_start();
    }
    if postgres_time(trimmed).is_some() {
        return trimmed[27..].trim_start();
    }
    if redis_time(trimmed).is_some()
        && let Some((pid_role, _)) = trimmed.split_once(' ')
    {
        return trimmed
            .get(pid_role.len() + 25..)
            .unwrap_or_default()
            .trim_start();
    }
    line
}

/// How a line is shown: a JSON line of the service becomes `TIME LEVEL message key=value …`
/// (the span's fields, the request id among them, included); any other line is shown as it is.
pub fn render(line: &str) -> String {
    let trimmed = line.trim_end();
    if !trimmed.starts_with('{') {
        return trimmed.to_string();
    }
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(trimmed) else {
        return trimmed.to_string();
    };
    let text = |key: &str| fields.get(key).and_then(|v| v.as_str()).unwrap_or("");
    let time = parse_rfc3339(text("timestamp")).map_or_else(
        || text("timestamp").to_string(),
        |t| t.format("%H:%M:%S%.3f").to_string(),
    );
    let mut out = format!("{time} {:<5} {}", text("level"), text("message"));
    let skip = [
        "timestamp",
        "level",
        "message",
        "target",
        "span",
        "spans",
        "threadId",
    ];
    for (key, value) in fields.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
        out.push_str(&format!(" {key}={}", plain(value)));
    }
    // The span's fields (the request id), unless the line repeats them itself.
    if let Some(serde_json::Value::Object(span)) = fields.get("span") {
        for (key, value) in span
            .iter()
            .filter(|(k, _)| k.as_str() != "name" && !fields.contains_key(k.as_str()))
        {
            out.push_str(&format!(" {key}={}", plain(value)));
        }
    }
    out
}

fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        parse_rfc3339(text).unwrap()
    }

    #[test]
    fn each_components_time_is_read() {
        assert_eq!(
            timestamp_of(
                r#"{"timestamp":"2026-12-02T03:21:44.500123Z","level":"INFO","message":"x"}"#
            ),
            Some(utc("2026-12-02T03:21:44.500123Z"))
        );
        assert_eq!(
            timestamp_of("2026-12-02T03:21:44.5Z  INFO service: listening"),
            Some(utc("2026-12-02T03:21:44.5Z"))
        );
        assert_eq!(
            timestamp_of("2026-12-02 03:21:44.495 UTC [18565] LOG:  database system is ready"),
            Some(utc("2026-12-02T03:21:44.495Z"))
        );
        let redis =
            timestamp_of("18508:M 02 Dec 2026 03:21:42.512 * Ready to accept connections").unwrap();
        let local = Local
            .with_ymd_and_hms(2026, 12, 2, 3, 21, 42)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!((redis - local).num_milliseconds(), 512);
        assert_eq!(timestamp_of("   Compiling service v0.1.0"), None);
        assert_eq!(timestamp_of("error[E0308]: mismatched types"), None);
    }

    #[test]
    fn the_time_a_line_starts_with_is_stripped() {
        let cases = [
            (
                "03:21:44.500 INFO  request method=GET",
                "INFO  request method=GET",
            ),
            (
                "2026-12-02T03:21:44.5Z  INFO service: listening",
                "INFO service: listening",
            ),
            (
                "2026-12-02 03:21:44.495 UTC [18565] LOG:  database system is ready",
                "[18565] LOG:  database system is ready",
            ),
            (
                "18508:M 02 Dec 2026 03:21:42.512 * Ready to accept connections",
                "* Ready to accept connections",
            ),
            ("   Compiling service v0.1.0", "   Compiling service v0.1.0"),
            ("12:00 is not a time of ours", "12:00 is not a time of ours"),
        ];
        for (line, stripped) in cases {
            assert_eq!(strip_time(line), stripped, "{line}");
        }
    }

    #[test]
    fn json_lines_are_rendered_for_people() {
        let line = r#"{"timestamp":"2026-12-02T03:21:44.500Z","level":"INFO","message":"request","target":"access","method":"GET","status":404,"span":{"request_id":"r-1","name":"request"}}"#;
        assert_eq!(
            render(line),
            "03:21:44.500 INFO  request method=GET status=404 request_id=r-1"
        );
        let repeated = r#"{"timestamp":"2026-12-02T03:21:44.500Z","level":"INFO","message":"request","request_id":"r-1","span":{"request_id":"r-1","name":"request"}}"#;
        assert_eq!(
            render(repeated),
            "03:21:44.500 INFO  request request_id=r-1"
        );
        assert_eq!(render("plain text\n"), "plain text");
        assert_eq!(render("{not json"), "{not json");
    }
}
