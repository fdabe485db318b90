//! The Debian package (operations.md, Distribution), made from the debug binary this test run
//! built (a release build would not fit CI's time), installed with dpkg, checked and purged by
//! `crates/groupd/debian/test-package.sh`. It changes the machine, so it needs root and
//! cargo-deb (`.ci/run` installs it) and says that it skipped otherwise. Only in the SQLite
//! target: one dpkg at a time.
use std::process::Command;

fn succeeds(cmd: &mut Command) -> Option<std::process::Output> {
    cmd.output().ok().filter(|o| o.status.success())
}

#[test]
fn the_debian_package_installs_checks_out_and_purges() {
    let root = succeeds(Command::new("id").arg("-u")).is_some_and(|o| o.stdout == b"0\n");
    let cargo_deb = succeeds(Command::new("cargo").args(["deb", "--version"])).is_some();
    if !root || !cargo_deb {
        eprintln!(
            "SKIPPED: the package test needs root and cargo-deb (root: {root}, cargo-deb: {cargo_deb})"
        );
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/debian/test-package.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("--debug")
        .output()
        .expect("bash runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("package: "), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
}
