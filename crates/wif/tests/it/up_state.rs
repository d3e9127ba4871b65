//! The state `wif up` and `wif sts --state-file` keep keys and secret values in (issue 34):
//! made private (a 0700 directory, 0600 files), refused at start with the `chmod` that fixes
//! it when others can reach it, and a damaged Azure state file refused by name.

use std::path::{Path, PathBuf};

use super::*;

/// A fresh parent directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wif-it-up-state-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file under `dir` with its mode, and every directory's.
#[cfg(unix)]
fn modes(dir: &Path, found: &mut Vec<(PathBuf, u32)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        found.push((path.clone(), mode(&path)));
        if path.is_dir() {
            modes(&path, found);
        }
    }
}

#[cfg(unix)]
#[test]
fn up_makes_its_state_directory_private_and_refuses_one_others_can_reach() {
    let parent = scratch("modes");
    let dir = parent.join("state");
    let state_dir = dir.to_str().unwrap();
    let print_env = ["up", "--state-dir", state_dir, "--print-env"];
    let output = wif(&print_env, b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(mode(&dir), 0o700);
    let mut found = Vec::new();
    modes(&dir, &mut found);
    assert!(found.len() >= 8, "{found:?}");
    for (path, mode) in found {
        let wanted = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, wanted, "{}", path.display());
    }

    // A directory others can enter: refused, with the command that fixes it.
    set_mode(&dir, 0o755);
    let refused = wif(&print_env, b"");
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains(&format!("{state_dir} has mode 0755")), "{said}");
    assert!(said.contains(&format!("run `chmod 700 {state_dir}`")), "{said}");

    // An Azure state file others can read, too: both named at once.
    let azure_state = dir.join("azure-state.yaml");
    std::fs::write(&azure_state, "tenants: []\n").unwrap();
    set_mode(&azure_state, 0o644);
    let said = stderr(&wif(&print_env, b""));
    assert!(said.contains(&format!("run `chmod 700 {state_dir}`")), "{said}");
    assert!(
        said.contains(&format!("run `chmod 600 {}`", azure_state.display())),
        "{said}"
    );

    // Fixed as told, it starts again.
    set_mode(&dir, 0o700);
    set_mode(&azure_state, 0o600);
    let output = wif(&print_env, b"");
    assert!(output.status.success(), "{}", stderr(&output));
    std::fs::remove_dir_all(&parent).unwrap();
}

#[cfg(unix)]
#[test]
fn sts_refuses_a_state_file_others_can_read_or_one_that_is_damaged() {
    let dir = scratch("sts");
    let directory = dir.join("directory.yaml");
    std::fs::write(
        &directory,
        "tenants:\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n",
    )
    .unwrap();
    let state = dir.join("state.yaml");
    let run = || {
        wif(
            &[
                "sts",
                "--config",
                directory.to_str().unwrap(),
                "--state-file",
                state.to_str().unwrap(),
                "--addr",
                "127.0.0.1:0",
                "--health-addr",
                "127.0.0.1:0",
            ],
            b"",
        )
    };
    std::fs::write(&state, "tenants: []\n").unwrap();
    set_mode(&state, 0o644);
    let refused = run();
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains(&format!("run `chmod 600 {}`", state.display())), "{said}");

    // Private, but cut short after its header: refused by name, and left as it was.
    let cut = "# wif-state v1\ntenants: []\n";
    std::fs::write(&state, cut).unwrap();
    set_mode(&state, 0o600);
    let refused = run();
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains(&format!("{} is damaged: ", state.display())), "{said}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), cut);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn production_names_refuse_a_state_directory_the_jvm_options_cannot_carry() {
    let dir = scratch("spaced").join("with space");
    let state_dir = dir.to_str().unwrap();
    let refused = wif(
        &["up", "--state-dir", state_dir, "--print-env", "--production-names"],
        b"",
    );
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(
        said.contains(
            "has white space in its path, which JAVA_TOOL_OPTIONS cannot carry: use a --state-dir without spaces"
        ),
        "{said}"
    );
    // Its own names need no JVM options: the same directory serves them.
    let local = wif(&["up", "--state-dir", state_dir, "--print-env"], b"");
    assert!(local.status.success(), "{}", stderr(&local));
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
}
