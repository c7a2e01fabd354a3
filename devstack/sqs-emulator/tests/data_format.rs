//! The data-format promise (RELIABILITY.md): every data file starts with a magic number and a
//! format version; only a torn last record is cut; any other damage, or a version this build
//! does not know, refuses the start and leaves every file byte for byte as it was; `repair`
//! keeps what is readable and moves the damaged file aside. Files from before the header
//! existed are read and rewritten.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sqs_emulator::persist::{FsyncPolicy, PersistOptions, header};
use sqs_emulator::server::{Emulator, StartError};

use common::{TestSqs, client_for, client_in};

fn options(dir: &Path, repair: bool) -> PersistOptions {
    let mut options = PersistOptions::new(dir);
    options.fsync = FsyncPolicy::Always;
    options.repair = repair;
    options
}

async fn try_start(dir: &Path, repair: bool) -> Result<TestSqs, StartError> {
    let emulator = Emulator::builder()
        .persist(options(dir, repair))
        .bind("127.0.0.1:0".parse().unwrap())
        .await?;
    let client = client_for(&emulator.endpoint());
    Ok(TestSqs { emulator, client })
}

/// A data directory whose journal holds a queue and `messages` sends.
async fn directory_with(messages: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sqs = try_start(dir.path(), false).await.unwrap();
    let url = sqs.create("q").await;
    for i in 0..messages {
        sqs.client
            .send_message()
            .queue_url(&url)
            .message_body(format!("message number {i:04}"))
            .send()
            .await
            .unwrap();
    }
    sqs.emulator.shutdown().await.unwrap();
    dir
}

fn file_starting(dir: &Path, prefix: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(prefix) && name.ends_with(".log")
        })
        .unwrap()
}

/// Every file of the directory, name → bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

async fn refused(dir: &Path) -> StartError {
    match try_start(dir, false).await {
        Ok(_) => panic!("the start was not refused"),
        Err(error) => error,
    }
}

async fn depth(sqs: &TestSqs) -> usize {
    let url = sqs
        .client
        .get_queue_url()
        .queue_name("q")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.attribute(&url, "ApproximateNumberOfMessages")
        .await
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_files_start_with_the_magic_and_the_version() {
    let dir = directory_with(1).await;
    for prefix in ["journal-", "snapshot-"] {
        let bytes = std::fs::read(file_starting(dir.path(), prefix)).unwrap();
        assert_eq!(&bytes[..header::LEN], &header::encode(), "{prefix}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_in_the_middle_refuses_the_start_and_changes_nothing() {
    let dir = directory_with(40).await;
    let journal = file_starting(dir.path(), "journal-");
    let mut bytes = std::fs::read(&journal).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&journal, &bytes).unwrap();
    let before = contents(dir.path());

    let error = refused(dir.path()).await;
    let text = error.to_string();
    let name = journal.file_name().unwrap().to_string_lossy().into_owned();
    assert!(text.contains(&name), "names the file: {text}");
    assert!(text.contains("damaged at byte"), "names the offset: {text}");
    assert!(text.contains("--repair"), "says what to do: {text}");
    assert_eq!(contents(dir.path()), before, "every file as it was");

    // --repair keeps the records before the damage and moves the file aside.
    let sqs = try_start(dir.path(), true).await.unwrap();
    let recovery = sqs.emulator.recovery().unwrap().clone();
    assert_eq!(recovery.repaired.len(), 1);
    let repaired = &recovery.repaired[0];
    assert_eq!(repaired.original, journal);
    assert!(repaired.damaged_at <= middle as u64);
    let kept = depth(&sqs).await;
    assert!(kept > 0 && kept < 40, "kept {kept} of 40");
    assert_eq!(
        repaired.records_kept,
        kept as u64 + 1,
        "the queue and its messages"
    );
    assert_eq!(
        std::fs::read(&repaired.moved_to).unwrap(),
        bytes,
        "moved aside, intact"
    );
    sqs.emulator.shutdown().await.unwrap();

    // The next start is clean and keeps what the repair kept.
    let sqs = try_start(dir.path(), false).await.unwrap();
    assert_eq!(depth(&sqs).await, kept);
    sqs.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_from_an_unknown_version_is_refused() {
    let dir = directory_with(3).await;
    let journal = file_starting(dir.path(), "journal-");
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&journal, &bytes).unwrap();
    let before = contents(dir.path());

    let error = refused(dir.path()).await;
    let text = error.to_string();
    assert!(text.contains("version 99"), "{text}");
    assert!(
        text.contains(&format!("reads version {}", header::VERSION)),
        "{text}"
    );
    assert_eq!(contents(dir.path()), before, "every file as it was");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_or_zero_filled_last_record_is_cut() {
    for tail in [vec![200u8, 0, 0], vec![0u8; 4096]] {
        let dir = directory_with(3).await;
        let journal = file_starting(dir.path(), "journal-");
        let mut bytes = std::fs::read(&journal).unwrap();
        let good = bytes.len();
        bytes.extend_from_slice(&tail);
        std::fs::write(&journal, &bytes).unwrap();

        let sqs = try_start(dir.path(), false).await.unwrap();
        assert_eq!(
            sqs.emulator.recovery().unwrap().truncated_bytes,
            tail.len() as u64
        );
        assert_eq!(depth(&sqs).await, 3);
        sqs.emulator.shutdown().await.unwrap();
        assert!(good > header::LEN);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_in_the_last_record_with_nothing_after_it_is_a_torn_tail() {
    let dir = directory_with(5).await;
    let journal = file_starting(dir.path(), "journal-");
    let mut bytes = std::fs::read(&journal).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&journal, &bytes).unwrap();

    let sqs = try_start(dir.path(), false).await.unwrap();
    assert!(sqs.emulator.recovery().unwrap().truncated_bytes > 0);
    assert_eq!(depth(&sqs).await, 4, "only the torn record is lost");
    sqs.emulator.shutdown().await.unwrap();
}

/// A format-1 file rewritten as format 0.
fn to_format_0(bytes: &[u8]) -> Vec<u8> {
    let mut rest = &bytes[header::LEN..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        out.extend_from_slice(&rest[..4]);
        out.extend_from_slice(&rest[8..12 + len]);
        rest = &rest[12 + len..];
    }
    out
}

/// A copy of the data directory the last build of format 1 wrote
/// (`tests/fixtures/data-format-1`): queues `orders` (three messages, one of them received
/// once, then one more sent after a restart; a tag; a redrive policy to `orders-dlq`),
/// `orders-dlq`, and `events.fifo` (two messages in group `g`), in us-east-1.
fn format_1_directory(convert: impl Fn(&[u8]) -> Vec<u8>) -> tempfile::TempDir {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-format-1");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(dir.path().join(path.file_name().unwrap()), convert(&bytes)).unwrap();
    }
    dir
}

async fn bodies(sqs: &TestSqs, url: &str) -> Vec<String> {
    common::peek_bodies(&sqs.client, url).await
}

/// Every file of the directory starts with the current header.
fn all_current(dir: &Path) {
    for (name, bytes) in contents(dir) {
        if name.ends_with(".log") {
            assert_eq!(&bytes[..header::LEN], &header::encode(), "{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_of_format_1_is_read_into_the_default_region_and_rewritten() {
    let dir = format_1_directory(<[u8]>::to_vec);
    let sqs = try_start(dir.path(), false).await.unwrap();
    let recovery = sqs.emulator.recovery().unwrap();
    assert!(recovery.upgraded_files >= 1, "{recovery:?}");
    let endpoint = sqs.emulator.endpoint();
    let orders = format!("{endpoint}/000000000000/orders");
    assert_eq!(
        bodies(&sqs, &orders).await,
        ["order 0", "order 1", "order 2", "order 3"]
    );
    assert_eq!(
        sqs.attribute(&orders, "QueueArn").await,
        "arn:aws:sqs:us-east-1:000000000000:orders"
    );
    assert!(
        sqs.attribute(&orders, "RedrivePolicy")
            .await
            .contains("arn:aws:sqs:us-east-1:000000000000:orders-dlq")
    );
    let fifo = format!("{endpoint}/000000000000/events.fifo");
    assert_eq!(
        sqs.attribute(&fifo, "ApproximateNumberOfMessages").await,
        "2"
    );
    // Not in any other region.
    let elsewhere = client_in(&endpoint, "eu-west-1");
    let listed = elsewhere.list_queues().send().await.unwrap();
    assert!(listed.queue_urls.unwrap_or_default().is_empty());
    sqs.emulator.shutdown().await.unwrap();
    all_current(dir.path());
    // And what was rewritten reads back the same.
    let sqs = try_start(dir.path(), false).await.unwrap();
    assert_eq!(sqs.emulator.recovery().unwrap().upgraded_files, 0);
    assert_eq!(bodies(&sqs, &orders).await.len(), 4);
    sqs.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_from_before_the_header_are_read_and_rewritten() {
    // The first persistent release wrote no file header, and frames of
    // `length | CRC-32 of the payload | payload` (no check of the length).
    let dir = format_1_directory(to_format_0);
    let sqs = try_start(dir.path(), false).await.unwrap();
    assert!(sqs.emulator.recovery().unwrap().upgraded_files >= 1);
    let orders = format!("{}/000000000000/orders", sqs.emulator.endpoint());
    assert_eq!(bodies(&sqs, &orders).await.len(), 4);
    sqs.emulator.shutdown().await.unwrap();
    all_current(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_ours_is_refused() {
    let dir = directory_with(2).await;
    let journal = file_starting(dir.path(), "journal-");
    std::fs::write(&journal, b"this is a text file someone left here\n").unwrap();
    let before = contents(dir.path());
    let error = refused(dir.path()).await;
    assert!(
        error.to_string().contains("not a Slipway SQS data file"),
        "{error}"
    );
    assert_eq!(contents(dir.path()), before);
}
