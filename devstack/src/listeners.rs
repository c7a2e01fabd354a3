//! Which process listens on a TCP port, from Linux's `/proc`: the sockets in LISTEN state on
//! the port (`/proc/net/tcp`, `/proc/net/tcp6`) and the socket inodes a process holds open
//! (`/proc/<pid>/fd`). A start-first reload needs it: while the old and the new process of an
//! app share the port (`SO_REUSEPORT`), an answer on the port does not say which one gave it,
//! so the new one is ready once it holds a listener there and its health path answers.
//! Elsewhere (macOS) nothing is known and `None` is answered.

use std::collections::HashSet;

/// Whether `pid` holds a socket listening on `port`; `None` where `/proc` cannot tell.
pub fn listens_on(pid: u32, port: u16) -> Option<bool> {
    let mut inodes = HashSet::new();
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            readable = true;
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if !readable {
        return None;
    }
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(fds.filter_map(Result::ok).any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|inode| inode.parse::<u64>().ok())
                .is_some_and(|inode| inodes.contains(&inode))
        })
    }))
}

/// The inodes of the sockets in LISTEN state (`0A`) on `port` in a `/proc/net/tcp` table.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (_, local_port) = fields.get(1)?.rsplit_once(':')?;
            let listening = *fields.get(3)? == "0A";
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| fields.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_are_found_by_port_and_state() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 100 0 0 10 0
   2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0 100 0 0 10 0";
        assert_eq!(listening_inodes(table, 8080), [4242]);
        assert!(listening_inodes(table, 9).is_empty());
    }

    #[tokio::test]
    async fn this_process_is_seen_listening() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let me = std::process::id();
        if let Some(found) = listens_on(me, port) {
            assert!(found);
            drop(listener);
            assert_eq!(listens_on(me, port), Some(false));
        }
    }
}
