//! Crash consistency: a child process (this test binary, re-executed on `crash_child`)
//! commits in a loop and reports each commit after `write` returns; the parent kills it with
//! SIGKILL mid-stream, reopens the store, and requires every reported commit to be there, the
//! audit chain to verify and the store to open cleanly. Repeated over several kills.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use switchboard_domain::ids::{NotificationId, OrgId};
use switchboard_storage::{MasterKey, Reader, Store, StoreError};

/// Set by the parent to the directory holding the key and the store; absent in normal runs.
const CHILD_ENV: &str = "SB_CRASH_CHILD_DIR";
/// Commits the parent waits for before each kill.
const COMMITS_PER_RUN: usize = 200;
/// Kills per test run.
const RUNS: usize = 3;
/// A child whose parent vanished stops on its own after this long.
const CHILD_LIFETIME: Duration = Duration::from_secs(120);

fn paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join("master.key"),
        dir.join("store.redb"),
        dir.join("org"),
    )
}

/// The child: commits a notification and its audit event per transaction, forever, and
/// prints `committed <id>` once each commit has returned. A no-op without `CHILD_ENV`.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let (key_path, store_path, org_path) = paths(Path::new(&dir));
    let key = MasterKey::load(&key_path).unwrap();
    let store = Store::open(&store_path, key).unwrap();
    let org: OrgId = std::fs::read_to_string(org_path).unwrap().parse().unwrap();
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    let mut i = 0;
    while started.elapsed() < CHILD_LIFETIME {
        let n = notification(&org, i);
        let id = n.id.clone();
        store
            .write(|tx| {
                tx.put_notification(&n)?;
                tx.append_audit(&audit_event(&[&org], id.as_str()))?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        writeln!(stdout, "committed {id}").unwrap();
        stdout.flush().unwrap();
        i += 1;
    }
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, store_path, org_path) = paths(dir.path());
    let key = MasterKey::create(&key_path).unwrap();
    let org = OrgId::generate();
    std::fs::write(&org_path, org.as_str()).unwrap();
    drop(Store::open(&store_path, key.clone()).unwrap());

    let mut acknowledged: Vec<NotificationId> = Vec::new();
    for run in 0..RUNS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut this_run = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix("committed ") {
                acknowledged.push(id.parse().unwrap());
                this_run += 1;
                if this_run == COMMITS_PER_RUN {
                    break;
                }
            }
        }
        // SIGKILL, most likely in the middle of the next commit.
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            this_run, COMMITS_PER_RUN,
            "run {run}: the child stopped early"
        );

        let store = Store::open(&store_path, key.clone())
            .unwrap_or_else(|e| panic!("run {run}: reopen failed: {e}"));
        let r = store.read().unwrap();
        for id in &acknowledged {
            assert!(
                r.get_notification(id).unwrap().is_some(),
                "run {run}: acknowledged {id} lost"
            );
        }
        let events = r.verify_audit().unwrap();
        assert!(events as usize >= acknowledged.len(), "run {run}");
        let logged: Vec<String> = r
            .audit_for_org(&org, None, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|e| e.event.action)
            .collect();
        for id in &acknowledged {
            assert!(
                logged.iter().any(|a| a == id.as_str()),
                "run {run}: audit of {id} lost"
            );
        }
        // Each notification was committed with its audit event: no half transaction survives.
        assert_eq!(
            r.notifications_for_org(&org, false, usize::MAX)
                .unwrap()
                .len() as u64,
            events,
            "run {run}"
        );
    }
}
