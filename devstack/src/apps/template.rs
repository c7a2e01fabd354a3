//! `${NAME}` in an app's command and env: any setting of the stack (`DATABASE_URL`,
//! `REDIS_URL`, `AWS_ENDPOINT_URL`, `SQS_QUEUE_URL`, …, another app's `<NAME>_URL`) and the
//! app's own `PORT`. `$$` is a literal `$`. A name nothing provides is an error, not an empty
//! string.

use std::collections::BTreeMap;

/// The names `text` refers to, in order.
pub fn names(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            rest = stripped;
            continue;
        }
        match after.strip_prefix('{').and_then(|a| a.split_once('}')) {
            Some((name, tail)) => {
                found.push(name);
                rest = tail;
            }
            None => rest = after,
        }
    }
    found
}

/// `text` with every `${NAME}` replaced from `settings`; the first unknown name is the error.
pub fn fill(text: &str, settings: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
            continue;
        }
        match after.strip_prefix('{').and_then(|a| a.split_once('}')) {
            Some((name, tail)) => {
                out.push_str(settings.get(name).ok_or_else(|| name.to_string())?);
                rest = tail;
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_fill_their_names_and_unknown_ones_are_errors() {
        let settings = BTreeMap::from([
            ("PORT".to_string(), "8123".to_string()),
            ("DATABASE_URL".to_string(), "postgres://x".to_string()),
        ]);
        assert_eq!(
            fill("127.0.0.1:${PORT} ${DATABASE_URL}", &settings).unwrap(),
            "127.0.0.1:8123 postgres://x"
        );
        assert_eq!(
            fill("costs $$5 or $x", &settings).unwrap(),
            "costs $5 or $x"
        );
        assert_eq!(fill("${NOPE}", &settings).unwrap_err(), "NOPE");
        assert_eq!(names("a ${A} $${B} ${C}"), ["A", "C"]);
    }
}
