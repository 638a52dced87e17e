//! `penny ops rotate-secrets` runs the mail-ingest binary's subcommand with the operator's
//! environment and arguments, and passes its failure on.

use crate::helpers::penny;

#[tokio::test]
async fn rotate_secrets_runs_the_binary_with_this_environment() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("fake-mail-ingest");
    let log = dir.path().join("log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@|$PENNY_SECRET_KEY_ACTIVE\" > {}\n[ \"$PENNY_SECRET_KEY_ACTIVE\" = k2 ]\n",
            log.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bin = script.to_str().unwrap();
    let url = "http://127.0.0.1:9";
    let args = ["ops", "rotate-secrets", "--bin", bin, "--", "--config", "mi.toml"];
    let run = penny(dir.path(), url, "/", &args, None, &[("PENNY_SECRET_KEY_ACTIVE", "k2")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read_to_string(&log).unwrap().trim(), "rotate-secrets --config mi.toml|k2");

    let run = penny(dir.path(), url, "/", &args, None, &[("PENNY_SECRET_KEY_ACTIVE", "k1")]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("rotate-secrets exited with status 1"), "{}", run.stderr);

    let missing = dir.path().join("missing");
    let run = penny(
        dir.path(),
        url,
        "/",
        &["ops", "rotate-secrets", "--bin", missing.to_str().unwrap()],
        None,
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("not found: give its path with --bin"), "{}", run.stderr);
}
