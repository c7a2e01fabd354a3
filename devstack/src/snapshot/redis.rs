//! Redis in a snapshot: every key of every logical database as Redis's own `DUMP` payload
//! with its remaining time to live, loaded back with `FLUSHALL` and `RESTORE … REPLACE`.
//!
//! Why `DUMP`/`RESTORE` rather than copying `dump.rdb` (see ARCHITECTURE.md, "Snapshots"): it
//! works on a running server without restarting it, on every backend, and Redis itself
//! checks each payload's version and checksum. Before anything is flushed, one payload is
//! restored into a scratch key: a server too old for the snapshot's encoding refuses it then,
//! and nothing is lost. A key's time to live restarts from what was left of it at the save.
//!
//! The file: an 8-byte magic, a format version (u32, little-endian), the entries encoded with
//! postcard, and a CRC-32 of that encoding.

use std::path::Path;

use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};

use super::SnapshotError;
use super::manifest::{FilePart, RedisPart};

/// The file's name inside a snapshot.
pub const FILE: &str = "redis.bin";
const MAGIC: [u8; 8] = *b"SLWYRDS\n";
const VERSION: u32 = 1;
/// Keys read or written per round trip.
const BATCH: usize = 1000;
const PROBE_KEY: &str = "__slipway_snapshot_probe__";

/// One key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its logical database (`SELECT`).
    pub db: i64,
    /// The key.
    pub key: Vec<u8>,
    /// Milliseconds it had left to live; `None` for a key without an expiry.
    pub ttl_ms: Option<u64>,
    /// `DUMP`'s payload.
    pub payload: Vec<u8>,
}

/// Saves every key of the Redis at `url` into `dir/redis.bin`.
pub async fn dump(url: &str, dir: &Path) -> Result<RedisPart, SnapshotError> {
    let mut conn = connect(url, 0).await?;
    let server_version = server_version(&mut conn).await?;
    let keyspace: String = redis::cmd("INFO")
        .arg("keyspace")
        .query_async(&mut conn)
        .await
        .map_err(redis_error)?;
    let mut entries = Vec::new();
    for db in databases(&keyspace) {
        let mut conn = connect(url, db).await?;
        dump_database(&mut conn, db, &mut entries).await?;
    }
    let path = dir.join(FILE);
    std::fs::write(&path, encode(&entries)?).map_err(super::io_at(&path))?;
    Ok(RedisPart {
        server_version,
        keys: entries.len() as u64,
        file: FilePart::describe(dir, FILE)?,
    })
}

async fn dump_database(
    conn: &mut MultiplexedConnection,
    db: i64,
    entries: &mut Vec<Entry>,
) -> Result<(), SnapshotError> {
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(BATCH)
            .query_async(conn)
            .await
            .map_err(redis_error)?;
        if !keys.is_empty() {
            let mut dumps = redis::pipe();
            let mut ttls = redis::pipe();
            for key in &keys {
                dumps.cmd("DUMP").arg(key);
                ttls.cmd("PTTL").arg(key);
            }
            let payloads: Vec<Option<Vec<u8>>> =
                dumps.query_async(conn).await.map_err(redis_error)?;
            let ttls: Vec<i64> = ttls.query_async(conn).await.map_err(redis_error)?;
            for ((key, payload), ttl) in keys.into_iter().zip(payloads).zip(ttls) {
                // Gone between SCAN and DUMP (expired or deleted): not part of the state.
                let (Some(payload), false) = (payload, ttl == -2) else {
                    continue;
                };
                let ttl_ms = u64::try_from(ttl).ok().map(|ms| ms.max(1));
                entries.push(Entry {
                    db,
                    key,
                    ttl_ms,
                    payload,
                });
            }
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// Reads `dir/redis.bin` and makes sure the Redis at `url` accepts its payloads, changing
/// nothing there.
pub async fn check(url: &str, dir: &Path, part: &RedisPart) -> Result<Vec<Entry>, SnapshotError> {
    let entries = read(dir, part)?;
    let mut conn = connect(url, 0).await?;
    let Some(first) = entries.first() else {
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        return Ok(entries);
    };
    let probe: Result<(), _> = redis::cmd("RESTORE")
        .arg(PROBE_KEY)
        .arg(60_000)
        .arg(&first.payload)
        .arg("REPLACE")
        .query_async(&mut conn)
        .await;
    let _: Result<i64, _> = redis::cmd("DEL")
        .arg(PROBE_KEY)
        .query_async(&mut conn)
        .await;
    if let Err(e) = probe {
        let running = server_version(&mut conn).await.unwrap_or_default();
        return Err(SnapshotError::Refused(format!(
            "this stack's Redis {running} cannot read the snapshot's keys (saved from Redis {}): \
             {e}; nothing was changed",
            part.server_version
        )));
    }
    Ok(entries)
}

/// Replaces everything in the Redis at `url` with `entries`.
pub async fn restore(url: &str, entries: &[Entry]) -> Result<(), SnapshotError> {
    let mut conn = connect(url, 0).await?;
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut conn)
        .await
        .map_err(redis_error)?;
    let mut by_db: std::collections::BTreeMap<i64, Vec<&Entry>> = Default::default();
    for entry in entries {
        by_db.entry(entry.db).or_default().push(entry);
    }
    for (db, entries) in by_db {
        restore_into(url, db, &entries).await?;
    }
    Ok(())
}

/// Restores `entries` into logical database `db` of the Redis at `url`, whatever database
/// they were saved from (keys there are replaced, others kept).
pub async fn restore_into(url: &str, db: i64, entries: &[&Entry]) -> Result<(), SnapshotError> {
    let mut conn = connect(url, db).await?;
    for chunk in entries.chunks(BATCH) {
        let mut pipe = redis::pipe();
        for entry in chunk {
            pipe.cmd("RESTORE")
                .arg(&entry.key)
                .arg(entry.ttl_ms.unwrap_or(0))
                .arg(&entry.payload)
                .arg("REPLACE")
                .ignore();
        }
        let _: () = pipe.query_async(&mut conn).await.map_err(redis_error)?;
    }
    Ok(())
}

/// Reads a snapshot's `redis.bin`.
pub fn read(dir: &Path, part: &RedisPart) -> Result<Vec<Entry>, SnapshotError> {
    let path = dir.join(&part.file.path);
    let bytes = std::fs::read(&path).map_err(super::io_at(&path))?;
    decode(&bytes).map_err(|why| {
        SnapshotError::Refused(format!("{}: {why}; nothing was changed", part.file.path))
    })
}

async fn connect(url: &str, db: i64) -> Result<MultiplexedConnection, SnapshotError> {
    let client = redis::Client::open(url).map_err(redis_error)?;
    let mut info = client.get_connection_info().clone();
    info.redis.db = db;
    redis::Client::open(info)
        .map_err(redis_error)?
        .get_multiplexed_async_connection()
        .await
        .map_err(redis_error)
}

async fn server_version(conn: &mut MultiplexedConnection) -> Result<String, SnapshotError> {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(conn)
        .await
        .map_err(redis_error)?;
    Ok(info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .unwrap_or("unknown")
        .trim()
        .to_string())
}

/// The logical databases `INFO keyspace` lists (`db3:keys=1,expires=0,avg_ttl=0`).
fn databases(keyspace: &str) -> Vec<i64> {
    keyspace
        .lines()
        .filter_map(|line| line.strip_prefix("db")?.split_once(':')?.0.parse().ok())
        .collect()
}

fn encode(entries: &[Entry]) -> Result<Vec<u8>, SnapshotError> {
    let body = postcard::to_allocvec(entries)
        .map_err(|e| SnapshotError::Redis(format!("cannot encode the keys: {e}")))?;
    let mut out = Vec::with_capacity(body.len() + 16);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    Ok(out)
}

fn decode(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let header = MAGIC.len() + 4;
    if bytes.len() < header + 4 || bytes[..MAGIC.len()] != MAGIC {
        return Err("not a devstack Redis snapshot".into());
    }
    let mut version = [0u8; 4];
    version.copy_from_slice(&bytes[MAGIC.len()..header]);
    let version = u32::from_le_bytes(version);
    if version != VERSION {
        return Err(format!(
            "Redis snapshot format {version}; this build reads format {VERSION}"
        ));
    }
    let (body, crc) = bytes[header..].split_at(bytes.len() - header - 4);
    let mut expected = [0u8; 4];
    expected.copy_from_slice(crc);
    if crc32fast::hash(body) != u32::from_le_bytes(expected) {
        return Err("its checksum does not match (damaged)".into());
    }
    postcard::from_bytes(body).map_err(|e| format!("damaged: {e}"))
}

fn redis_error(e: redis::RedisError) -> SnapshotError {
    SnapshotError::Redis(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyspace_lists_databases() {
        let info =
            "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\ndb12:keys=1,expires=1,avg_ttl=9\r\n";
        assert_eq!(databases(info), [0, 12]);
        assert!(databases("# Keyspace\r\n").is_empty());
    }

    #[test]
    fn entries_round_trip_and_damage_is_refused() {
        let entries = vec![Entry {
            db: 3,
            key: b"order:1".to_vec(),
            ttl_ms: Some(5000),
            payload: vec![0, 1, 2, 255],
        }];
        let bytes = encode(&entries).unwrap();
        assert_eq!(decode(&bytes).unwrap(), entries);
        let mut flipped = bytes.clone();
        flipped[14] ^= 1;
        assert!(decode(&flipped).unwrap_err().contains("checksum"));
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode(b"PGDMP").unwrap_err().contains("not a devstack"));
        let mut newer = bytes;
        newer[8] = 2;
        assert!(decode(&newer).unwrap_err().contains("format 2"));
    }
}
