//! Ports: stable defaults that do not clash with a Postgres or Redis already on 5432/6379, and
//! a free port when a default is taken.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// Default Postgres port (not 5432, where a system Postgres often runs).
pub const POSTGRES: u16 = 55432;
/// Default Redis port (not 6379).
pub const REDIS: u16 = 56379;
/// Default SQS emulator port (ElasticMQ's).
pub const SQS: u16 = 9324;
/// Default service port.
pub const SERVICE: u16 = 8080;

/// A port to use, and why it is not the one asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The port.
    pub port: u16,
    /// Set when the wanted port was taken.
    pub note: Option<String>,
}

/// `wanted` if it can be bound on loopback now, else a free port with a note.
pub fn choose(component: &str, wanted: u16) -> std::io::Result<Chosen> {
    if wanted != 0 && is_free(wanted) {
        return Ok(Chosen {
            port: wanted,
            note: None,
        });
    }
    let port = free_port()?;
    let note = (wanted != 0).then(|| format!("{component}: port {wanted} is taken, using {port}"));
    Ok(Chosen { port, note })
}

/// Whether `port` can be bound on 127.0.0.1 now.
pub fn is_free(port: u16) -> bool {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_ok()
}

/// A port the OS says is free now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(
        TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?
            .local_addr()?
            .port(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_replaced_with_a_note() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = held.local_addr().unwrap().port();
        let chosen = choose("redis", taken).unwrap();
        assert_ne!(chosen.port, taken);
        assert!(
            chosen
                .note
                .unwrap()
                .contains(&format!("port {taken} is taken"))
        );
    }

    #[test]
    fn a_free_port_is_kept() {
        // Another process may take a free port before `choose` looks (tests run in parallel):
        // that is not this test's failure, so try a few ports.
        let kept = (0..10).any(|_| {
            let port = free_port().unwrap();
            choose("x", port).unwrap() == Chosen { port, note: None }
        });
        assert!(kept, "a free port was never kept");
    }
}
