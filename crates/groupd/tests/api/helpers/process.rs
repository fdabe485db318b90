//! The real `groupd serve` binary as a child process, for what only a process can show: a crash,
//! a signal, two servers on one database, settings read from the environment, the log as an
//! operator reads it.
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use super::{LogLines, TestDb, groupd_bin};

/// A running `groupd serve`, killed when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Every stderr line so far.
    pub logs: LogLines,
    child: Child,
}

impl TestServer {
    /// Starts `groupd serve` on `db` with extra flags.
    pub fn start(db: &TestDb, flags: &[&str]) -> Self {
        Self::start_with_env(db, flags, &[])
    }

    /// Starts `groupd serve` on `db` with extra flags and environment variables, and waits for
    /// it to log its address.
    pub fn start_with_env(db: &TestDb, flags: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(groupd_bin());
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--database", &db.url])
            .args(db.serve_flags())
            .args(flags)
            .envs(env.iter().copied());
        Self::start_command(cmd)
    }

    /// Starts `cmd`, some way of running `groupd serve --listen 127.0.0.1:0` (under `ulimit`,
    /// say), and waits for it to log its address.
    pub fn start_command(mut cmd: Command) -> Self {
        for (k, v) in [("RUST_LOG", "info"), ("GROUPD_LOG_FORMAT", "text")] {
            if !cmd.get_envs().any(|(set, _)| set == k) {
                cmd.env(k, v);
            }
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start groupd serve");
        let stderr = child.stderr.take().expect("stderr");
        let logs = LogLines::default();
        let keep = logs.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[groupd] {line}");
                }
                if let Some(pos) = line.find("listening on http://") {
                    let addr = line[pos + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_owned();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                keep.lock().unwrap().push(line);
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("groupd did not report its address");
        Self { base, logs, child }
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `KILL`, …) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit (after a signal), returning its exit code.
    pub fn wait(mut self) -> Option<i32> {
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
