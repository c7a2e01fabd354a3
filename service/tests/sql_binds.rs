//! SQL only through bind parameters, checked on the source: SQL lives in
//! `src/adapters/postgres/` alone, and the only text ever spliced into a statement is the
//! constant column list `COLUMNS`. Every value travels as a `$n` bind parameter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

const SQL_WORDS: [&str; 5] = ["SELECT ", "INSERT ", "UPDATE ", "DELETE ", " WHERE "];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literal that starts right after `format!(` at `from`, and its placeholders.
fn format_placeholders(source: &str, from: usize) -> (String, Vec<String>) {
    let rest = &source[from..];
    let open = rest.find('"').unwrap();
    let literal: String = rest[open + 1..].chars().take_while(|c| *c != '"').collect();
    let mut placeholders = Vec::new();
    let mut chars = literal.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '{' {
            if chars.peek().is_some_and(|(_, n)| *n == '{') {
                chars.next();
                continue;
            }
            let end = literal[i..].find('}').unwrap();
            placeholders.push(literal[i + 1..i + end].to_string());
        }
    }
    (literal, placeholders)
}

#[test]
fn sql_is_only_in_the_postgres_adapter_and_splices_nothing_but_the_column_list() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let adapter = root.join("src/adapters/postgres");
    let mut statements = 0;
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let queries = source.matches("sqlx::query").count();
        if !file.starts_with(&adapter) {
            assert_eq!(
                queries,
                0,
                "{} runs SQL outside the adapter",
                file.display()
            );
            continue;
        }
        statements += queries;
        for (at, _) in source.match_indices("format!(") {
            let (literal, placeholders) = format_placeholders(&source, at);
            if SQL_WORDS.iter().any(|w| literal.contains(w)) {
                assert!(
                    placeholders.iter().all(|p| p == "COLUMNS"),
                    "SQL built with {placeholders:?} spliced in: {literal}"
                );
            }
        }
        assert!(
            !source.contains("push_str("),
            "SQL must not be assembled piecewise"
        );
    }
    assert!(
        statements >= 5,
        "the adapter's statements were found ({statements})"
    );
}

#[test]
fn the_check_catches_a_spliced_value() {
    let source = r#"sqlx::query(&format!("SELECT * FROM orders WHERE id = '{id}'"))"#;
    let at = source.find("format!(").unwrap();
    let (literal, placeholders) = format_placeholders(source, at);
    assert!(literal.contains("SELECT "));
    assert_eq!(placeholders, ["id"]);
}
