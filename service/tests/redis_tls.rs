//! Redis in the cloud, against real `redis-server`s: `rediss://` (TLS through rustls) with a
//! CA the test makes with `openssl`, and refused without it; and the admission script on a
//! cluster-mode server, where a script whose keys hash to different slots fails with
//! CROSSSLOT (a one-node cluster owning every slot still checks).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use service::adapters::redis::{Redis, RedisAdmission};
use service::domain::order::{CustomerId, OrderId};
use service::ports::{Admission, AdmissionControl, IdempotencyClaim};

/// A redis-server killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_server() -> Option<PathBuf> {
    let found = devstack::launch::redis::find_binary();
    if found.is_none() {
        devstack::testing::missing_tool(
            "redis-server is not installed (apt-get install redis-server)",
        );
    }
    found
}

fn start(binary: &Path, args: &[String]) -> Server {
    Server(
        Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl {args:?}");
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=slipway-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
}

async fn eventually_pings(redis: &Redis) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match redis.ping().await {
            Ok(()) => return,
            Err(error) => assert!(Instant::now() < deadline, "{error}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn claim(key: &str) -> IdempotencyClaim {
    IdempotencyClaim {
        key: key.to_string(),
        fingerprint: "f1".to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_connects_with_its_ca_and_is_refused_without_it() {
    let Some(binary) = redis_server() else { return };
    if Command::new("openssl").arg("version").output().is_err() {
        devstack::testing::missing_tool("openssl is not installed (apt-get install openssl)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let port = devstack::ports::free_port().unwrap();
    let file = |name: &str| dir.path().join(name).display().to_string();
    let _server = start(
        &binary,
        &[
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--tls-cert-file".into(),
            file("server.crt"),
            "--tls-key-file".into(),
            file("server.key"),
            "--tls-ca-cert-file".into(),
            file("ca.crt"),
            "--tls-auth-clients".into(),
            "no".into(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
        ],
    );
    let url = format!("rediss://127.0.0.1:{port}");
    let redis = Redis::new(&url, Some(&dir.path().join("ca.crt"))).unwrap();
    eventually_pings(&redis).await;
    let admission = RedisAdmission::new(redis, 100, Duration::from_secs(60));
    let customer = CustomerId::parse("c-tls").unwrap();
    let id = OrderId::new();
    assert_eq!(
        admission
            .admit(&customer, Some(&claim("k")), id)
            .await
            .unwrap(),
        Admission::Admitted
    );

    // The server's certificate is checked: without the CA it is not trusted.
    let untrusting = Redis::new(&url, None).unwrap();
    assert!(untrusting.ping().await.is_err(), "an unknown CA is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admission_script_runs_on_cluster_mode_redis() {
    let Some(binary) = redis_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = devstack::ports::free_port().unwrap();
    let _server = start(
        &binary,
        &[
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--cluster-enabled".into(),
            "yes".into(),
            "--cluster-config-file".into(),
            dir.path().join("nodes.conf").display().to_string(),
            "--dir".into(),
            dir.path().display().to_string(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
        ],
    );
    let redis = Redis::new(&format!("redis://127.0.0.1:{port}"), None).unwrap();
    eventually_pings(&redis).await;
    let mut connection = redis.connection().await.unwrap();
    let () = redis::cmd("CLUSTER")
        .arg("ADDSLOTSRANGE")
        .arg(0)
        .arg(16383)
        .query_async(&mut connection)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut connection)
            .await
            .unwrap();
        if info.contains("cluster_state:ok") {
            break;
        }
        assert!(Instant::now() < deadline, "{info}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let admission = RedisAdmission::new(redis, 100, Duration::from_secs(60));
    let customer = CustomerId::parse("c-cluster").unwrap();
    let first = OrderId::new();
    assert_eq!(
        admission
            .admit(&customer, Some(&claim("k-1")), first)
            .await
            .unwrap(),
        Admission::Admitted,
        "no CROSSSLOT: both keys carry one hash tag"
    );
    assert_eq!(
        admission
            .admit(&customer, Some(&claim("k-1")), OrderId::new())
            .await
            .unwrap(),
        Admission::Replay(first)
    );
    assert_eq!(
        admission
            .admit(&customer, None, OrderId::new())
            .await
            .unwrap(),
        Admission::Admitted
    );
    admission.release(&claim("k-1")).await.unwrap();
}
