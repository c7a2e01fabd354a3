//! The listener `devstack up` runs: accepts connections on the control socket, refuses other
//! users, reads one JSON request a line, carries it out on the stack and answers. After a
//! request that changed the stack (a pid, a state), the state file is written again so that
//! readers of `.devstack/state.json` see the same stack. A `logs` request is answered from the
//! [`LogHub`] without waiting for the stack (a restart in progress holds it).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slipway_contracts::chaos::ProcessFault;
use slipway_contracts::control::{Request, Response};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Mutex;

use crate::logs::hub::{DEFAULT_LIMIT, LogHub};
use crate::otlp::store::SpanStore;
use crate::stack::chaos::now_unix_ms;
use crate::stack::{ComponentId, Stack};

/// Traces listed when a `traces` request gives no limit.
const RECENT_TRACES: usize = 100;

/// What requests are carried out on.
pub struct Served {
    /// The stack (restart, stop, start, status).
    pub stack: Arc<Mutex<Stack>>,
    /// The merged log stream (`logs`).
    pub logs: Arc<LogHub>,
    /// The collector's spans (`trace`), when the stack keeps traces.
    pub traces: Option<Arc<SpanStore>>,
    /// Called with the stack after a change (the state file is written again).
    pub on_change: Box<dyn Fn(&Stack) + Send + Sync>,
}

/// Binds the socket at `path` (owner-only; a stale one is replaced) and serves requests on
/// `served` until the task is dropped.
pub fn bind(path: &Path, served: Served) -> std::io::Result<tokio::task::JoinHandle<()>> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let served = Arc::new(served);
    let socket = SocketFile(path.to_path_buf());
    Ok(tokio::spawn(async move {
        // Removed when this task ends (aborted at shutdown).
        let _socket = socket;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let served = served.clone();
            tokio::spawn(async move {
                if let Err(error) = serve(stream, &served).await {
                    tracing::debug!(%error, "control connection ended");
                }
            });
        }
    }))
}

/// Removes the socket file when dropped (with the task that owns it).
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn serve(stream: UnixStream, served: &Arc<Served>) -> std::io::Result<()> {
    let mine = nix::unistd::Uid::effective().as_raw();
    if stream.peer_cred()?.uid() != mine {
        return Ok(());
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(request) => carry_out(request, served).await,
            Err(error) => Response::failure(format!("not a control request: {error}")),
        };
        let mut text = serde_json::to_string(&response).unwrap_or_else(|e| {
            format!(r#"{{"ok":false,"error":"cannot encode the answer: {e}"}}"#)
        });
        text.push('\n');
        write.write_all(text.as_bytes()).await?;
    }
    Ok(())
}

async fn carry_out(request: Request, served: &Arc<Served>) -> Response {
    match &request {
        Request::Logs { after, limit } => {
            return Response {
                ok: true,
                logs: served.logs.since(*after, limit.unwrap_or(DEFAULT_LIMIT)),
                ..Response::default()
            };
        }
        Request::Trace { query } => {
            return match &served.traces {
                Some(store) => Response {
                    ok: true,
                    spans: store.find(query),
                    ..Response::default()
                },
                None => Response::failure("this stack keeps no traces"),
            };
        }
        Request::Traces { limit } => {
            return match &served.traces {
                Some(store) => Response {
                    ok: true,
                    traces: store.recent(limit.unwrap_or(RECENT_TRACES)),
                    ..Response::default()
                },
                None => Response::failure("this stack keeps no traces"),
            };
        }
        _ => {}
    }
    let mut stack = served.stack.lock().await;
    let id = request.component().map(|name| stack.id(name));
    let result = match (&request, id) {
        (_, Some(Err(unknown))) => Err(unknown),
        (Request::Restart { .. }, Some(Ok(id))) => stack.restart_component(id).await,
        (Request::Stop { .. }, Some(Ok(id))) => stack.stop_component(id).await,
        (Request::Start { .. }, Some(Ok(id))) => stack.start_component(id).await,
        (Request::Chaos { fault, for_ms, .. }, Some(Ok(id))) => {
            let undone = matches!(fault, ProcessFault::Kill | ProcessFault::Pause);
            let until = for_ms
                .filter(|_| undone)
                .map(|ms| now_unix_ms().saturating_add(i64::try_from(ms).unwrap_or(i64::MAX)));
            let result = stack.chaos(id, *fault, until).await;
            if let (Ok(()), Some(until), Some(ms)) = (&result, until, for_ms) {
                undo_later(
                    served.clone(),
                    id,
                    *fault,
                    until,
                    Duration::from_millis(*ms),
                );
            }
            result
        }
        (Request::Toxic { toxic, for_ms, .. }, Some(Ok(id))) => {
            let name = stack.get(id).name.clone();
            stack.toxic(&name, *toxic, for_ms.map(Duration::from_millis))
        }
        (Request::ChaosReset, _) => stack.reset_faults().await,
        _ => Ok(()),
    };
    if request != Request::Status {
        (served.on_change)(&stack);
    }
    Response {
        ok: result.is_ok(),
        error: result.err().map(|e| e.to_string()),
        components: stack.statuses(),
        faults: stack.faults(),
        proxies: stack.proxies(),
        ..Response::default()
    }
}

/// Undoes a `--for` fault when its time is up (unless something ended it before).
fn undo_later(
    served: Arc<Served>,
    id: ComponentId,
    fault: ProcessFault,
    until_unix_ms: i64,
    after: Duration,
) {
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let mut stack = served.stack.lock().await;
        stack.undo(id, fault, until_unix_ms).await;
        (served.on_change)(&stack);
    });
}
