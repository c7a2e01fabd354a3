//! External components: a URL the user supplies. devstack does not manage their lifetime; it
//! only checks that they answer, so that a typo fails now and clearly rather than later.

use std::time::Duration;

use super::LaunchError;

/// The `host:port` of a URL such as `postgres://user:pw@db:5432/app` or `redis://cache`.
pub fn authority(url: &str) -> Result<String, LaunchError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        LaunchError::Unreachable(format!(
            "{}: not a URL (expected scheme://host:port/…)",
            redact(url)
        ))
    })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if host_port.is_empty() {
        return Err(LaunchError::Unreachable(format!(
            "{}: no host",
            redact(url)
        )));
    }
    let has_port = match host_port.rfind(']') {
        Some(end) => host_port[end..].contains(':'),
        None => host_port.contains(':'),
    };
    if has_port {
        return Ok(host_port.to_string());
    }
    let port = match scheme {
        "postgres" | "postgresql" => 5432,
        "redis" => 6379,
        "rediss" | "https" => 443,
        _ => 80,
    };
    Ok(format!("{host_port}:{port}"))
}

/// Checks that something listens at the URL's host and port.
pub async fn check_reachable(component: &str, url: &str) -> Result<(), LaunchError> {
    let addr = authority(url)?;
    match tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(&addr),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(LaunchError::Unreachable(format!(
            "{component}: {} does not answer ({e})",
            redact(url)
        ))),
        Err(_) => Err(LaunchError::Unreachable(format!(
            "{component}: {} did not answer within 3 s",
            redact(url)
        ))),
    }
}

/// The URL with any password replaced by `***` (the shared rule of `slipway_contracts`).
pub use slipway_contracts::redact::url as redact;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_with_default_ports() {
        assert_eq!(authority("postgres://u:p@db:6000/app").unwrap(), "db:6000");
        assert_eq!(authority("postgres://db/app").unwrap(), "db:5432");
        assert_eq!(authority("redis://cache").unwrap(), "cache:6379");
        assert_eq!(authority("http://[::1]:9324/").unwrap(), "[::1]:9324");
        assert_eq!(authority("http://[::1]/").unwrap(), "[::1]:80");
        assert!(authority("db:5432").is_err());
        assert!(authority("redis://").is_err());
    }

    #[tokio::test]
    async fn reachability() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        check_reachable("redis", &format!("redis://127.0.0.1:{port}"))
            .await
            .unwrap();
        // A socket bound but not listening holds its port, so nothing else can take it, and
        // refuses every connection: "nothing answers" does not depend on other processes.
        let refusing = tokio::net::TcpSocket::new_v4().unwrap();
        refusing.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = refusing.local_addr().unwrap().port();
        let err = check_reachable("redis", &format!("redis://:pw@127.0.0.1:{port}"))
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("does not answer") && !message.contains("pw@"),
            "{message}"
        );
    }
}
