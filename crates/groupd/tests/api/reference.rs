//! `docs/configuration.md` is the CLI's own help, so the reference cannot drift from the flags:
//! this test renders every command's `--help` and compares. After changing a flag, regenerate with
//! `GROUPD_BLESS=1 cargo nextest run -E 'test(/configuration_reference/)'`.
use std::{path::PathBuf, process::Command};

use crate::helpers::*;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["serve"],
    &["migrate"],
    &["project", "create"],
    &["project", "list"],
    &["key", "create"],
    &["key", "list"],
    &["key", "revoke"],
    &["export"],
    &["import"],
    &["backup"],
];

fn help(args: &[&str]) -> String {
    let mut cmd = Command::new(groupd_bin());
    cmd.args(args).arg("--help");
    // clap shows a set environment twin's value in the help; the reference shows none.
    for (k, _) in std::env::vars() {
        if k.starts_with("GROUPD_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().expect("run groupd --help");
    assert!(out.status.success(), "groupd {args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

fn reference() -> String {
    let mut doc = String::from(
        "# Configuration reference\n\n\
         Generated from the CLI's own `--help` by `crates/groupd/tests/api/reference.rs`, which fails \
         when this file and the flags disagree. Every flag has the `GROUPD_…` environment twin shown \
         beside it (`[env: …]`); `/etc/default/groupd` of the Debian package sets these twins. What \
         the settings mean in production: `operations.md`.\n",
    );
    for args in COMMANDS {
        let name = if args.is_empty() {
            "groupd".to_owned()
        } else {
            format!("groupd {}", args.join(" "))
        };
        doc.push_str(&format!("\n## `{name}`\n\n```text\n{}```\n", help(args)));
    }
    doc
}

#[test]
fn the_configuration_reference_is_the_clis_own_help() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let want = reference();
    if std::env::var_os("GROUPD_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/configuration.md is not the CLI's help; regenerate it with \
         GROUPD_BLESS=1 cargo nextest run -E 'test(/configuration_reference/)'"
    );
}
