//! A PostgreSQL cluster of one test (its own directory, port and processes), for what the shared
//! server must never be put through: stopping, freezing, TLS settings. Needs root, to run
//! PostgreSQL as its own user; without it [`PrivatePg::start`] says so and gives `None`.
use std::{
    path::{Path, PathBuf},
    process::Command,
};

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

pub fn run(cmd: &mut Command) -> bool {
    cmd.status().is_ok_and(|s| s.success())
}

/// A PostgreSQL cluster of one test: its own directory, port and processes.
pub struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePg {
    pub fn start() -> Option<Self> {
        Self::start_with(|_| {})
    }

    /// Like [`start`](Self::start), with `prepare` run on the data directory (owned by
    /// `postgres`) after `initdb` and before the first start: certificates, config lines.
    pub fn start_with(prepare: impl FnOnce(&Path)) -> Option<Self> {
        if !is_root() {
            eprintln!("skipped: needs root to run a private PostgreSQL");
            return None;
        }
        let bindir = Command::new("pg_config").arg("--bindir").output().ok()?;
        let bin = PathBuf::from(String::from_utf8_lossy(&bindir.stdout).trim());
        let dir = tempfile::tempdir().ok()?;
        run(Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path()));
        let data = dir.path().join("data");
        let ok = run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .stdout(std::process::Stdio::null()));
        assert!(ok, "initdb failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        prepare(&data);
        run(Command::new("chown").args(["-R", "postgres"]).arg(&data));
        let pg = Self { dir, bin, port };
        pg.ctl_start();
        Some(pg)
    }

    pub fn ctl(&self, args: &[&str]) -> bool {
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(args)
            .stdout(std::process::Stdio::null()))
    }

    pub fn ctl_start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        let log = log.to_str().unwrap();
        assert!(
            self.ctl(&["-w", "-o", &opts, "-l", log, "start"]),
            "pg_ctl start"
        );
    }

    pub fn stop(&self) {
        assert!(self.ctl(&["-m", "immediate", "-w", "stop"]), "pg_ctl stop");
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The postmaster and its children.
    pub fn pids(&self) -> Vec<String> {
        let pidfile = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid"))
            .unwrap_or_default();
        let Some(master) = pidfile.lines().next().map(str::to_owned) else {
            return Vec::new();
        };
        let children = Command::new("pgrep")
            .args(["-P", &master])
            .output()
            .unwrap();
        let mut pids = vec![master];
        pids.extend(
            String::from_utf8_lossy(&children.stdout)
                .lines()
                .map(str::to_owned),
        );
        pids
    }

    pub fn signal(&self, sig: &str) {
        for pid in self.pids() {
            run(Command::new("kill").args([sig, &pid]));
        }
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.ctl(&["-m", "immediate", "-w", "stop"]);
    }
}
