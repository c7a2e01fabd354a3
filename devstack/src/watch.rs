//! Reload on save (`devstack up --watch`, or `watch = true` in `devstack.toml`): the sources
//! each app declares (`watch = [...]`; for the orders service its crate, `contracts/` and the
//! workspace manifests) are watched with `notify` and its debouncer — never `target/` or
//! `.devstack/` — and a change rebuilds the app (its `build` command: incremental `cargo
//! build`) and, on success, replaces the running process (`Stack::replace_component`):
//! start-first for an app that allows it (the orders service: the new process runs its setup
//! — migrations — and starts beside the old one on the shared port; once it is ready the old
//! one gets SIGTERM and drains: finishes its work, releases the rest, flushes deletes), else
//! the old one drains first and the new one starts after.
//!
//! A failed build keeps the old process serving: the app is marked stale with the
//! compiler's first error, which is printed in full (not the wall after it), and `devstack
//! status` shows it. Fixing the file rebuilds again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use tokio::sync::{Mutex, mpsc};

use crate::apps::declaration::AppDeclaration;
use crate::apps::process::run_to_end;
use crate::stack::Stack;

/// How long a burst of saves is gathered into one rebuild.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// A running watch; dropping it stops watching.
pub struct Watch {
    _debouncer: Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches the apps that declare `watch` paths (relative to `workspace`) and reloads them on
/// stack `stack`; build logs go to `log_dir/<name>-build.log`. `on_change` is called after a
/// reload (to rewrite the state file). `None` when no app declares anything to watch.
pub fn start(
    apps: &[AppDeclaration],
    workspace: &Path,
    log_dir: &Path,
    stack: Arc<Mutex<Stack>>,
    on_change: Arc<dyn Fn(&Stack) + Send + Sync>,
) -> Result<Option<Watch>, notify_debouncer_mini::notify::Error> {
    let watched: Vec<(String, Vec<PathBuf>, Vec<String>)> = apps
        .iter()
        .filter(|a| !a.watch.is_empty())
        .map(|a| {
            let paths = a.watch.iter().map(|p| workspace.join(p)).collect();
            (a.name().to_string(), paths, a.build.clone())
        })
        .collect();
    if watched.is_empty() {
        return Ok(None);
    }
    let (tx, rx) = mpsc::unbounded_channel::<Vec<PathBuf>>();
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| {
        if let Ok(events) = result {
            let changed: Vec<PathBuf> = events
                .into_iter()
                .map(|e| e.path)
                .filter(|p| !ignored(p))
                .collect();
            if !changed.is_empty() {
                let _ = tx.send(changed);
            }
        }
    })?;
    for (_, paths, _) in &watched {
        for path in paths.iter().filter(|p| p.exists()) {
            debouncer.watcher().watch(path, RecursiveMode::Recursive)?;
        }
    }
    let context = Reloader {
        watched,
        workspace: workspace.to_path_buf(),
        log_dir: log_dir.to_path_buf(),
        stack,
        on_change,
    };
    let task = tokio::spawn(context.run(rx));
    Ok(Some(Watch {
        _debouncer: debouncer,
        task,
    }))
}

/// Never `target/` (cargo's output would rebuild forever) nor `.devstack/` (logs, data).
fn ignored(path: &Path) -> bool {
    path.components().any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some("target" | ".devstack" | ".git")
        )
    })
}

struct Reloader {
    watched: Vec<(String, Vec<PathBuf>, Vec<String>)>,
    workspace: PathBuf,
    log_dir: PathBuf,
    stack: Arc<Mutex<Stack>>,
    on_change: Arc<dyn Fn(&Stack) + Send + Sync>,
}

impl Reloader {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Vec<PathBuf>>) {
        while let Some(mut changed) = rx.recv().await {
            // Saves that came during a rebuild are one more change, not one each.
            while let Ok(more) = rx.try_recv() {
                changed.extend(more);
            }
            let mut due: BTreeMap<&str, &PathBuf> = BTreeMap::new();
            for (name, paths, _) in &self.watched {
                if let Some(path) = changed
                    .iter()
                    .find(|c| paths.iter().any(|p| c.starts_with(p)))
                {
                    due.insert(name, path);
                }
            }
            for (name, path) in due {
                self.reload(name, path).await;
            }
        }
    }

    async fn reload(&self, name: &str, path: &Path) {
        let shown = path.strip_prefix(&self.workspace).unwrap_or(path);
        println!("{name}: {} changed; rebuilding…", shown.display());
        let started = Instant::now();
        let build = self
            .watched
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, b)| b.clone())
            .unwrap_or_default();
        let log = self.log_dir.join(format!("{name}-build.log"));
        let built = run_to_end(name, &build, &self.workspace, &log, &|_: &str| {}).await;
        let mut stack = self.stack.lock().await;
        let id = match stack.id(name) {
            Ok(id) => id,
            Err(error) => {
                println!("{name}: {error}");
                return;
            }
        };
        match built {
            Err(error) => {
                let why = match &error {
                    crate::launch::LaunchError::Startup { log_tail, .. } => log_tail.clone(),
                    other => other.to_string(),
                };
                println!("{name}: the build failed; the running version keeps serving.\n{why}");
                stack.set_stale(id, Some(format!("the rebuild failed: {why}")));
            }
            Ok(()) => match stack.replace_component(id).await {
                Ok(()) => println!("{name}: reloaded in {} ms", started.elapsed().as_millis()),
                Err(error) => println!("{name}: the new build did not start: {error}"),
            },
        }
        (self.on_change)(&stack);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_output_and_stack_files_are_never_watched() {
        assert!(ignored(Path::new("/w/target/debug/service")));
        assert!(ignored(Path::new("/w/.devstack/logs/service.log")));
        assert!(!ignored(Path::new("/w/service/src/main.rs")));
    }
}
