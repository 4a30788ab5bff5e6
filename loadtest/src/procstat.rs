//! Samples a process's resident memory (`VmRSS` in `/proc/PID/status`) and CPU time
//! (utime + stime in `/proc/PID/stat`), for the server under test and for the harness itself.

use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

/// Clock ticks per second in `/proc/PID/stat`. The kernel reports these fields in USER_HZ,
/// which is 100 on every Linux architecture this runs on (reading `sysconf` would need unsafe).
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it was taken.
    pub at: Instant,
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// User + system CPU time, in seconds.
    pub cpu_secs: f64,
}

/// A process to sample: a pid, or the harness itself.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Another process.
    Pid(u32),
    /// This process.
    Myself,
}

impl Target {
    fn dir(self) -> String {
        match self {
            Target::Pid(pid) => format!("/proc/{pid}"),
            Target::Myself => "/proc/self".into(),
        }
    }

    /// Reads the process's memory and CPU time now.
    pub fn sample(self) -> anyhow::Result<Sample> {
        let dir = self.dir();
        let status = std::fs::read_to_string(format!("{dir}/status"))
            .with_context(|| format!("reading {dir}/status"))?;
        let stat = std::fs::read_to_string(format!("{dir}/stat"))
            .with_context(|| format!("reading {dir}/stat"))?;
        Ok(Sample {
            at: Instant::now(),
            rss_kib: rss_kib(&status).context("no VmRSS line")?,
            cpu_secs: cpu_ticks(&stat).context("unexpected /proc/PID/stat")? as f64
                / TICKS_PER_SECOND,
        })
    }
}

/// Memory and CPU between two samples.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Usage {
    /// RSS at the first sample, MiB.
    pub rss_start_mib: f64,
    /// RSS at the second sample, MiB.
    pub rss_end_mib: f64,
    /// CPU time used, in cores (CPU seconds per wall second).
    pub cpu_cores: f64,
    /// Wall seconds between the samples.
    pub wall_secs: f64,
}

impl Usage {
    /// What happened between `a` and `b`.
    pub fn between(a: &Sample, b: &Sample) -> Usage {
        let wall = b.at.duration_since(a.at).as_secs_f64();
        Usage {
            rss_start_mib: a.rss_kib as f64 / 1024.0,
            rss_end_mib: b.rss_kib as f64 / 1024.0,
            cpu_cores: if wall > 0.0 {
                (b.cpu_secs - a.cpu_secs) / wall
            } else {
                0.0
            },
            wall_secs: wall,
        }
    }
}

/// `VmRSS:     1234 kB` → 1234.
fn rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// utime + stime: fields 14 and 15 of `stat`, counted after the `(comm)` field, which may
/// itself contain spaces and parentheses.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let status = "Name:\tmosquitto\nVmPeak:\t  9000 kB\nVmRSS:\t    6144 kB\nThreads:\t1\n";
        assert_eq!(rss_kib(status), Some(6144));
        assert_eq!(rss_kib("Name: x\n"), None);
        let stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0";
        assert_eq!(cpu_ticks(stat), Some(325));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn samples_this_process() {
        let s = Target::Myself.sample().unwrap();
        assert!(s.rss_kib > 0);
        let later = Sample {
            at: s.at + std::time::Duration::from_secs(2),
            rss_kib: s.rss_kib + 2048,
            cpu_secs: s.cpu_secs + 1.0,
        };
        let u = Usage::between(&s, &later);
        assert!((u.cpu_cores - 0.5).abs() < 1e-9);
        assert!((u.rss_end_mib - u.rss_start_mib - 2.0).abs() < 1e-9);
    }
}
