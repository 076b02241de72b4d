//! Running another program with a time limit: cargo for the package graph,
//! other tools for their SARIF. A gate must not wait forever on a child
//! stuck on a lock or a network, nor leave its helpers running.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a finished child printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot run it: {0}")]
    Spawn(std::io::Error),
    #[error("cannot wait for it: {0}")]
    Wait(std::io::Error),
    #[error("timed out after {} and was killed", crate::duration::format_duration(*.0))]
    TimedOut(Duration),
}

/// Runs `command` (stdin null, stdout and stderr captured) for at most
/// `timeout`. On Unix the child leads its own process group, and a timeout
/// kills the whole group: a wrapper script's children die with it.
pub fn run_with_timeout(command: &mut Command, timeout: Duration) -> Result<Finished, RunError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(command, 0);
    let mut child = command.spawn().map_err(RunError::Spawn)?;
    let stdout = capture(child.stdout.take());
    let stderr = capture(child.stderr.take());
    let deadline = Instant::now() + timeout;
    // Short first naps: most children (cargo metadata) end in a few hundred ms.
    let mut nap = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(error) => {
                kill(&mut child);
                return Err(RunError::Wait(error));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            kill(&mut child);
            return Err(RunError::TimedOut(timeout));
        }
        std::thread::sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(20));
    };
    Ok(Finished {
        status,
        stdout: finish(stdout),
        stderr: finish(stderr),
    })
}

/// As `run_with_timeout`, but hands stdout to `on_output` chunk by chunk as
/// the child writes it (the returned `stdout` is empty): a caller can start
/// on the first lines of a long listing. A watchdog kills the child's group
/// at the deadline, which also ends the read.
pub fn stream_with_timeout(
    command: &mut Command,
    timeout: Duration,
    on_output: &mut dyn FnMut(&[u8]),
) -> Result<Finished, RunError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(command, 0);
    let mut child = command.spawn().map_err(RunError::Spawn)?;
    let stderr = capture(child.stderr.take());
    let mut stdout = child.stdout.take();
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let timed_out = matches!(
            finished.recv_timeout(timeout),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout)
        );
        if timed_out {
            kill_group(pid);
        }
        timed_out
    });
    if let Some(stdout) = stdout.as_mut() {
        let mut chunk = vec![0; 64 * 1024];
        loop {
            match stdout.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => on_output(&chunk[..n]),
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    let status = child.wait();
    let _ = done.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    if timed_out {
        return Err(RunError::TimedOut(timeout));
    }
    Ok(Finished {
        status: status.map_err(RunError::Wait)?,
        stdout: Vec::new(),
        stderr: finish(stderr),
    })
}

/// Signals the process group led by `pid` (a `process_group(0)` child).
fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Ok(group) = i32::try_from(pid) {
        // SAFETY: kill(2) with a negative pid signals that process group only.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Kills the child's process group (Unix) or the child, and reaps it.
fn kill(child: &mut Child) {
    // The group's id is the child's pid (process_group(0) above).
    kill_group(child.id());
    let _ = child.kill();
    let _ = child.wait();
}

type Capture = std::thread::JoinHandle<Vec<u8>>;

fn capture(stream: Option<impl Read + Send + 'static>) -> Option<Capture> {
    stream.map(|mut stream| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            bytes
        })
    })
}

/// The captured bytes; empty when a leftover grandchild still holds the pipe.
fn finish(capture: Option<Capture>) -> Vec<u8> {
    let Some(handle) = capture else {
        return Vec::new();
    };
    let waited = Instant::now();
    while !handle.is_finished() && waited.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    if handle.is_finished() {
        handle.join().unwrap_or_default()
    } else {
        Vec::new()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_come_back() {
        let done = run_with_timeout(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(20),
        )
        .unwrap();
        assert_eq!(done.status.code(), Some(3));
        assert_eq!(done.stdout, b"out\n");
        assert_eq!(done.stderr, b"err\n");
    }

    #[test]
    fn a_timeout_kills_the_child_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-pid");
        let script = format!("sleep 30 & echo $! > '{}'; wait", marker.display());
        let started = Instant::now();
        let error = run_with_timeout(
            Command::new("sh").args(["-c", &script]),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(matches!(error, RunError::TimedOut(_)), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid = std::fs::read_to_string(&marker).unwrap();
        let pid = pid.trim();
        // Killed, then reaped by init: give it a moment to vanish.
        let gone = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Absent, or a zombie waiting for init.
            status.is_empty() || status.split_whitespace().nth(2) == Some("Z")
        });
        assert!(
            gone,
            "the grandchild `sleep` (pid {pid}) outlived the timeout"
        );
    }

    #[test]
    fn streamed_output_arrives_in_order_and_a_timeout_kills() {
        let mut seen = Vec::new();
        let done = stream_with_timeout(
            Command::new("sh").args(["-c", "printf 'a\\0b\\0'; echo err >&2"]),
            Duration::from_secs(20),
            &mut |chunk| seen.extend_from_slice(chunk),
        )
        .unwrap();
        assert!(done.status.success());
        assert_eq!(seen, b"a\0b\0");
        assert_eq!(done.stderr, b"err\n");
        let started = Instant::now();
        let error = stream_with_timeout(
            Command::new("sh").args(["-c", "echo partial; sleep 30"]),
            Duration::from_millis(300),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(error, RunError::TimedOut(_)), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_program_is_a_spawn_error() {
        let error = run_with_timeout(
            &mut Command::new("/nonexistent/secgate-no-such-tool"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(error, RunError::Spawn(_)), "{error}");
    }
}
