//! `devstack logs [COMPONENT…] [-f] [--since DURATION] [--grep TEXT]`: every component's log
//! merged in time order, each line prefixed with its component — coloured on a terminal
//! (unless `NO_COLOR`), plain when piped — and the service's JSON lines shown readably. It
//! reads the files under `.devstack/logs`, so it works while the stack runs and after it
//! stopped; `-f` then follows them until Ctrl-C.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use chrono::Utc;

use crate::cli::LogsArgs;
use crate::logs::files::{self, Entry, LogFile};
use crate::logs::line::{render, timestamp_of};
use crate::logs::tail::Tail;
use crate::paths::Paths;
use crate::signals::Shutdown;

const COLOURS: [AnsiColor; 6] = [
    AnsiColor::Cyan,
    AnsiColor::Magenta,
    AnsiColor::Green,
    AnsiColor::Yellow,
    AnsiColor::Blue,
    AnsiColor::Red,
];

/// Runs `devstack logs`.
pub async fn run(paths: &Paths, args: LogsArgs) -> anyhow::Result<()> {
    let dir = paths.log_dir();
    let available = files::discover(&dir);
    if available.is_empty() {
        anyhow::bail!("no logs in {} (has a stack run here?)", dir.display());
    }
    let chosen = choose(&available, &args.components)?;
    let printer = Printer::new(&chosen, use_colour());
    let since = args
        .since
        .map(|d| Utc::now() - chrono::Duration::from_std(d.into()).unwrap_or_default());
    let mut out = std::io::stdout().lock();
    for entry in files::merged(&chosen) {
        if since.is_none_or(|s| entry.at >= s) {
            printer.print(&mut out, &entry, args.grep.as_deref())?;
        }
    }
    out.flush()?;
    drop(out);
    if args.follow {
        follow(&chosen, &printer, args.grep.as_deref()).await?;
    }
    Ok(())
}

/// The files of the named components (all when none is named); an unknown name is an error
/// that lists the known ones.
fn choose(available: &[LogFile], names: &[String]) -> anyhow::Result<Vec<LogFile>> {
    if names.is_empty() {
        return Ok(available.to_vec());
    }
    let known: Vec<&str> = available.iter().map(|f| f.component.as_str()).collect();
    names
        .iter()
        .map(|name| {
            available
                .iter()
                .find(|f| &f.component == name)
                .cloned()
                .ok_or_else(|| {
                    anyhow::anyhow!("no log for `{name}`; there are: {}", known.join(", "))
                })
        })
        .collect()
}

fn use_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Prints entries as `component | line`, the prefixes padded to one width.
struct Printer {
    width: usize,
    styles: Vec<(String, Style)>,
    colour: bool,
}

impl Printer {
    fn new(files: &[LogFile], colour: bool) -> Self {
        let width = files.iter().map(|f| f.component.len()).max().unwrap_or(0);
        let styles = files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let style = Style::new().fg_color(Some(COLOURS[i % COLOURS.len()].into()));
                (f.component.clone(), style)
            })
            .collect();
        Self {
            width,
            styles,
            colour,
        }
    }

    fn print(
        &self,
        out: &mut impl std::io::Write,
        entry: &Entry,
        grep: Option<&str>,
    ) -> std::io::Result<()> {
        let text = render(&entry.text);
        if grep.is_some_and(|g| !text.contains(g)) {
            return Ok(());
        }
        let prefix = format!("{:>width$} |", entry.component, width = self.width);
        match self.styles.iter().find(|(c, _)| *c == entry.component) {
            Some((_, style)) if self.colour => {
                writeln!(out, "{style}{prefix}{style:#} {text}")
            }
            _ => writeln!(out, "{prefix} {text}"),
        }
    }
}

/// Prints what the files gain until Ctrl-C or SIGTERM.
async fn follow(files: &[LogFile], printer: &Printer, grep: Option<&str>) -> anyhow::Result<()> {
    let mut tails: Vec<(String, Tail)> = files
        .iter()
        .map(|f| (f.component.clone(), Tail::new(&f.path, false)))
        .collect();
    let mut signals = Shutdown::listen();
    loop {
        let mut batch: Vec<Entry> = Vec::new();
        for (component, tail) in &mut tails {
            let mut at = Utc::now();
            for text in tail.new_lines() {
                at = timestamp_of(&text).unwrap_or(at);
                batch.push(Entry {
                    at,
                    component: component.clone(),
                    text,
                });
            }
        }
        batch.sort_by_key(|e| e.at);
        let mut out = std::io::stdout().lock();
        for entry in &batch {
            printer.print(&mut out, entry, grep)?;
        }
        out.flush()?;
        drop(out);
        tokio::select! {
            () = signals.recv() => return Ok(()),
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(component: &str, text: &str) -> Entry {
        Entry {
            at: Utc::now(),
            component: component.into(),
            text: text.into(),
        }
    }

    fn files(names: &[&str]) -> Vec<LogFile> {
        names
            .iter()
            .map(|n| LogFile {
                component: (*n).into(),
                path: format!("/x/{n}.log").into(),
            })
            .collect()
    }

    #[test]
    fn lines_are_prefixed_padded_and_plain_when_piped() {
        let printer = Printer::new(&files(&["redis", "postgres"]), false);
        let mut out = Vec::new();
        printer
            .print(&mut out, &entry("redis", "ready"), None)
            .unwrap();
        printer
            .print(&mut out, &entry("postgres", "skip me"), Some("ready"))
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "   redis | ready\n");
    }

    #[test]
    fn colour_wraps_the_prefix_only() {
        let printer = Printer::new(&files(&["redis"]), true);
        let mut out = Vec::new();
        printer
            .print(&mut out, &entry("redis", "ready"), None)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("\u{1b}["), "{text:?}");
        assert!(text.ends_with("redis |\u{1b}[0m ready\n"), "{text:?}");
    }

    #[test]
    fn unknown_components_are_named_with_the_known_ones() {
        let error = choose(&files(&["postgres", "redis"]), &["reddis".into()]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no log for `reddis`; there are: postgres, redis"
        );
        assert_eq!(choose(&files(&["a", "b"]), &["b".into()]).unwrap().len(), 1);
    }
}
