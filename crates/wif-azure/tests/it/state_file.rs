//! The local Azure plane's state file as the store writes it and a restart reads it (issue 34):
//! private to its owner, sealed with a checksum trailer, refused and kept as it is when cut,
//! emptied or changed, read as before when an older wif wrote it, and every state a commit
//! acknowledged, up to Key Vault's limits and the state's own cap, loading again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wif_azure::keyvault::{
    MAX_SECRET_BYTES, MAX_SECRET_TAGS, MAX_SECRET_VERSIONS, MAX_TAG_NAME_CHARS, MAX_TAG_VALUE_CHARS, SecretVersion,
    VaultSecrets,
};
use wif_azure::store::{CommitError, Damage, LoadError, MAX_STATE_BYTES, load_config, seal};
use wif_azure::{AzureConfig, AzurePlane, AzureState};
use wif_issuer::files::{FileError, write_private};
use wif_sts::{Emulator, LocalEmulator};

use super::*;

const SUBSCRIPTION: &str = "5ab5c71b-0000-4000-8000-000000000034";

fn yaml() -> String {
    format!(
        r#"tenants:
  - tenantId: {TENANT}
    applications:
      - {{ displayName: reader, appId: {CLIENT}, objectId: 0b1ec700-0000-4000-8000-000000000034 }}
subscriptions:
  - subscriptionId: {SUBSCRIPTION}
    tenantId: {TENANT}
    resourceGroups:
      - name: rg
        location: eastus
        keyVaults:
          - {{ name: kv-state, location: eastus }}
roleAssignments:
  - {{ name: a5519000-0000-4000-8000-000000000034, scope: /subscriptions/{SUBSCRIPTION}, roleDefinitionId: 4633458b-17de-408a-b874-0445c86b69e6, principalId: 0b1ec700-0000-4000-8000-000000000034 }}
"#
    )
}

fn config() -> AzureConfig {
    serde_saphyr::from_str(&yaml()).unwrap()
}

/// A new directory for one test, private as `wif up` makes its own.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wif-azure-it-state-{}", random_uuid().unwrap()));
    wif_issuer::files::create_private_dir(&dir).unwrap();
    dir
}

/// The plane serving `config`, its changes kept in `state_file`; and its state.
async fn plane(config: AzureConfig, state_file: &Path) -> (LocalEmulator, Arc<AzureState>) {
    let (directory, plane) = AzurePlane::new(config, PathBuf::from("."), Some(state_file.to_path_buf())).unwrap();
    let handle = plane.handle();
    let emulator = Emulator::new(directory).plane(plane).start_local().await.unwrap();
    (emulator, handle.state().unwrap())
}

fn vault(config: &mut AzureConfig) -> &mut VaultSecrets {
    &mut config.subscriptions[0].resource_groups[0].key_vaults[0].secrets
}

/// One commit changing the vault's secrets.
async fn commit(state: &AzureState, change: impl FnOnce(&mut VaultSecrets)) -> Result<(), CommitError> {
    state
        .store
        .change(|c| {
            change(vault(c));
            Ok::<_, CommitError>(())
        })
        .await
}

/// One commit changing the whole state.
async fn commit_whole(state: &AzureState, change: impl FnOnce(&mut AzureConfig)) -> Result<(), CommitError> {
    state
        .store
        .change(|c| {
            change(c);
            Ok::<_, CommitError>(())
        })
        .await
}

fn version(id: usize, value: String, tags: BTreeMap<String, String>) -> SecretVersion {
    SecretVersion {
        version: format!("{id:032x}"),
        value,
        content_type: None,
        tags,
        created: 1_800_000_000,
    }
}

/// What the store writes for `config`.
fn state_bytes(config: &AzureConfig) -> usize {
    seal::seal(&serde_saphyr::to_string(config).unwrap()).len()
}

/// Adds secrets named `s000000`, `s000001`... (each of `versions` versions made by `shape`)
/// until one more would take the state file over [`MAX_STATE_BYTES`]; returns how many.
fn fill(config: &mut AzureConfig, versions: usize, shape: &dyn Fn(usize) -> SecretVersion) -> usize {
    let mut id = 0;
    let mut add = |c: &mut AzureConfig, n: usize| {
        for _ in 0..versions {
            id += 1;
            vault(c).set(&format!("s{n:06}"), shape(id)).unwrap();
        }
    };
    add(config, 0);
    let first = state_bytes(config);
    add(config, 1);
    let one = state_bytes(config) - first;
    let mut count = 2 + (MAX_STATE_BYTES - first - one) / one;
    for n in 2..count {
        add(config, n);
    }
    while state_bytes(config) + one <= MAX_STATE_BYTES {
        add(config, count);
        count += 1;
    }
    let full = state_bytes(config);
    assert!(
        full <= MAX_STATE_BYTES && MAX_STATE_BYTES - full < one,
        "{count} secrets of {one} bytes: {full}"
    );
    count
}

#[tokio::test]
async fn a_state_full_of_the_biggest_secrets_key_vault_takes_loads_again_and_one_more_is_refused() {
    let dir = scratch();
    let file = dir.join("azure-state.yaml");
    let (_emulator, state) = plane(config(), &file).await;
    // Values and tags at Key Vault's limits, of characters YAML writes escaped (4 bytes each).
    let biggest = |id: usize| {
        let tags = (0..MAX_SECRET_TAGS)
            .map(|t| {
                let name = format!("{t:02}{}", "\u{1}".repeat(MAX_TAG_NAME_CHARS - 2));
                (name, "\u{1}".repeat(MAX_TAG_VALUE_CHARS))
            })
            .collect();
        version(id, "\u{1}".repeat(MAX_SECRET_BYTES), tags)
    };
    let mut secrets = 0;
    commit_whole(&state, |c| secrets = fill(c, 1, &biggest)).await.unwrap();
    assert!(secrets > 30, "{secrets}");
    let written = std::fs::read(&file).unwrap();
    assert!(written.len() <= MAX_STATE_BYTES, "{}", written.len());
    let acknowledged = state.store.config.lock().await.clone();
    assert_eq!(load_config(&dir.join("none.yaml"), Some(&file)).unwrap(), acknowledged);

    // One more goes over the cap: refused, and neither the file nor the state changes.
    let refused = commit(&state, |v| {
        v.set("one-more", biggest(0)).unwrap();
    })
    .await
    .unwrap_err();
    assert!(
        matches!(refused, CommitError::TooLarge { bytes, limit } if bytes > limit && limit == MAX_STATE_BYTES),
        "{refused:?}"
    );
    // ARM (and Graph and the vaults) answer it as 507, which no SDK retries.
    let answer = wif_azure::ops::ArmError::from(refused);
    assert_eq!(
        (answer.status, answer.code),
        (507, "StateLimitExceeded"),
        "{}",
        answer.message
    );
    assert_eq!(std::fs::read(&file).unwrap(), written);
    assert_eq!(*state.store.config.lock().await, acknowledged);

    // Making room is a change like any other.
    commit(&state, |v| {
        v.delete("s000000").unwrap();
        v.set("one-more", biggest(0)).unwrap();
    })
    .await
    .unwrap();
    let reloaded = load_config(&dir.join("none.yaml"), Some(&file)).unwrap();
    assert!(
        reloaded.subscriptions[0].resource_groups[0].key_vaults[0]
            .secrets
            .get("one-more", None)
            .is_ok()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_state_over_the_cap_from_an_older_wif_may_shrink_but_not_grow() {
    let dir = scratch();
    let file = dir.join("azure-state.yaml");
    let big = |id: usize| version(id, "x".repeat(MAX_SECRET_BYTES), BTreeMap::new());
    let mut over = config();
    let mut n = 0;
    while state_bytes(&over) <= MAX_STATE_BYTES + MAX_SECRET_BYTES {
        for _ in 0..MAX_SECRET_VERSIONS {
            n += 1;
            vault(&mut over).set(&format!("old{n:06}"), big(n)).unwrap();
        }
    }
    let (_emulator, state) = plane(over, &file).await;
    let grown = commit(&state, |v| {
        v.set("new", big(0)).unwrap();
    })
    .await
    .unwrap_err();
    assert!(matches!(grown, CommitError::TooLarge { .. }), "{grown:?}");
    assert!(!file.exists(), "nothing was written");
    commit(&state, |v| {
        v.delete(&format!("old{n:06}")).unwrap();
    })
    .await
    .unwrap();
    let shrunk = std::fs::read(&file).unwrap().len();
    assert!(shrunk > MAX_STATE_BYTES, "{shrunk}: still over, and kept");
    assert_eq!(
        load_config(&dir.join("none.yaml"), Some(&file)).unwrap(),
        *state.store.config.lock().await
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_state_of_many_small_tagged_versions_past_the_parsers_default_budget_loads_again() {
    // The shape that broke restarts: many nodes for few bytes (the default budget stops at
    // 250,000 nodes, a 2 MB file of these).
    let dir = scratch();
    let file = dir.join("azure-state.yaml");
    let (_emulator, state) = plane(config(), &file).await;
    let small = |id: usize| {
        let tags = (0..MAX_SECRET_TAGS).map(|t| (format!("{t}"), String::new())).collect();
        version(id, "v".into(), tags)
    };
    commit_whole(&state, |c| {
        fill(c, MAX_SECRET_VERSIONS, &small);
    })
    .await
    .unwrap();
    let acknowledged = state.store.config.lock().await.clone();
    assert_eq!(load_config(&dir.join("none.yaml"), Some(&file)).unwrap(), acknowledged);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_state_file_is_written_private_and_one_others_may_read_is_refused() {
    let dir = scratch();
    let file = dir.join("made/here/azure-state.yaml");
    let (_emulator, state) = plane(config(), &file).await;
    commit(&state, |v| {
        v.set("greeting", version(1, "hello".into(), BTreeMap::new())).unwrap();
    })
    .await
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!((mode(&dir.join("made")), mode(&dir.join("made/here"))), (0o700, 0o700));
        let entries: Vec<_> = std::fs::read_dir(dir.join("made/here"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, ["azure-state.yaml"], "no temporary file is left");

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = load_config(&dir.join("none.yaml"), Some(&file)).unwrap_err();
        assert!(
            matches!(&refused, LoadError::NotPrivate(FileError::NotPrivate { path, mode: 0o644, .. }) if *path == file),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("run `chmod 600 "), "{refused}");

        // The user's config file is theirs: read whatever its mode.
        let config_file = dir.join("config.yaml");
        std::fs::write(&config_file, yaml()).unwrap();
        std::fs::set_permissions(&config_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            load_config(&config_file, Some(&dir.join("no-state-yet.yaml"))).unwrap(),
            config()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_state_cut_emptied_or_changed_is_refused_by_name_and_kept_as_it_is() {
    let dir = scratch();
    let file = dir.join("azure-state.yaml");
    let (_emulator, state) = plane(config(), &file).await;
    commit(&state, |v| {
        v.set("greeting", version(1, "hello".into(), BTreeMap::new())).unwrap();
    })
    .await
    .unwrap();
    let written = String::from_utf8(std::fs::read(&file).unwrap()).unwrap();
    assert!(written.starts_with(&format!("{}\n", seal::HEADER)), "{written}");
    let before_assignments = written.find("\nroleAssignments:").unwrap() + 1;
    let mut flipped = written.clone().into_bytes();
    flipped[written.find("hello").unwrap()] ^= 0x01;
    let cases: [(&str, Vec<u8>, Damage); 3] = [
        (
            "cut at a line boundary, the role assignments gone",
            written.as_bytes()[..before_assignments].to_vec(),
            Damage::MissingTrailer,
        ),
        ("empty", Vec::new(), Damage::Empty),
        (
            "one byte changed",
            flipped,
            Damage::Mismatch {
                bytes: written.len() - written.lines().last().unwrap().len() - 1,
                recorded: Some(written.len() - written.lines().last().unwrap().len() - 1),
            },
        ),
    ];
    for (what, damaged, why) in cases {
        write_private(&file, &damaged, true).unwrap();
        let refused = load_config(&dir.join("none.yaml"), Some(&file)).unwrap_err();
        match &refused {
            LoadError::Damaged { path, why: found } => {
                assert_eq!((path, found), (&file, &why), "{what}");
            }
            other => panic!("{what}: {other:?}"),
        }
        assert!(
            refused
                .to_string()
                .starts_with(&format!("{} is damaged: ", file.display())),
            "{refused}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), damaged, "{what}: the file is kept");
    }
    // A file grown past anything the store writes is refused before it is read whole.
    let mut grown = written.into_bytes();
    grown.resize(2 * MAX_STATE_BYTES + 1, b'#');
    write_private(&file, &grown, true).unwrap();
    match load_config(&dir.join("none.yaml"), Some(&file)).unwrap_err() {
        LoadError::Read { path, source } => {
            assert_eq!(path, file);
            assert_eq!(source.kind(), std::io::ErrorKind::InvalidData, "{source}");
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_state_an_older_wif_wrote_loads_as_before_its_leftover_goes_and_the_next_commit_seals_it() {
    let dir = scratch();
    let file = dir.join("azure-state.yaml");
    let legacy = serde_saphyr::to_string(&config()).unwrap();
    assert!(!legacy.starts_with('#'));
    write_private(&file, legacy.as_bytes(), true).unwrap();
    // The temporary file such a wif left after a crash (0644, every secret in it) goes.
    let leftover = dir.join("azure-state.tmp");
    std::fs::write(&leftover, legacy.as_bytes()).unwrap();
    let loaded = load_config(&dir.join("none.yaml"), Some(&file)).unwrap();
    assert_eq!(loaded, config());
    assert!(!leftover.exists(), "the older wif's temporary file is removed at start");

    let (_emulator, state) = plane(loaded, &file).await;
    commit(&state, |v| {
        v.set("greeting", version(1, "hello".into(), BTreeMap::new())).unwrap();
    })
    .await
    .unwrap();
    let sealed = std::fs::read(&file).unwrap();
    assert!(sealed.starts_with(seal::HEADER.as_bytes()));
    assert_eq!(seal::unseal(&sealed), Ok(seal::Sealing::Sealed));
    assert_eq!(
        load_config(&dir.join("none.yaml"), Some(&file)).unwrap(),
        *state.store.config.lock().await
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
