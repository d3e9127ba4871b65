//! Storage accounts on a state made here: Azure's defaults, a second PUT as an update, the
//! name rule, names global across subscriptions, PATCH, deletes (with the group too) taking
//! the account's assignments, and the file check.

use super::super::*;
use super::{SUB, TENANT, config};
use crate::config::check::{AzureProblem, check};
use crate::config::{AzureConfig, RoleAssignmentConfig, StorageAccountConfig, SubscriptionConfig};

const OTHER_SUB: &str = "5ab5c71b-0000-4000-8000-000000000002";

/// `config()` with a second subscription of the same tenant, and groups `g1`, `g2` in the
/// first and `g3` in the second.
fn two_subscriptions() -> AzureConfig {
    let mut c = config();
    c.subscriptions.push(SubscriptionConfig {
        subscription_id: OTHER_SUB.into(),
        tenant_id: TENANT.into(),
        ..SubscriptionConfig::default()
    });
    put_group(&mut c, SUB, "g1", "eastus", None).unwrap();
    put_group(&mut c, SUB, "g2", "eastus", None).unwrap();
    put_group(&mut c, OTHER_SUB, "g3", "eastus", None).unwrap();
    c
}

fn flags(shared_key: bool) -> AccountChange {
    AccountChange {
        allow_shared_key_access: Some(shared_key),
        ..AccountChange::default()
    }
}

#[test]
fn a_storage_account_is_created_with_azure_s_defaults_and_a_second_put_updates_it() {
    let mut c = two_subscriptions();
    let tags = AccountChange {
        tags: Some([("team".to_owned(), "a".to_owned())].into()),
        ..flags(false)
    };
    let (made, place, created) = put_storage_account(&mut c, SUB, "G1", "stwif01", "East US", tags).unwrap();
    assert!(created);
    assert_eq!(
        (made.kind.as_str(), made.sku.as_str(), made.location.as_str()),
        ("StorageV2", "Standard_LRS", "eastus")
    );
    assert_eq!(made.allow_shared_key_access, Some(false));
    assert_eq!(
        place.account_id("stwif01"),
        format!("/subscriptions/{SUB}/resourceGroups/g1/providers/Microsoft.Storage/storageAccounts/stwif01")
    );
    let (again, _, created) = put_storage_account(&mut c, SUB, "g1", "stwif01", "eastus", flags(true)).unwrap();
    assert!(!created, "a PUT on the same id is an update");
    assert_eq!(again.allow_shared_key_access, Some(true));
    assert_eq!(
        again.tags.get("team").map(String::as_str),
        Some("a"),
        "tags left out are kept"
    );
    assert_eq!(c.subscriptions[0].resource_groups[0].storage_accounts.len(), 1);
    let moved = put_storage_account(&mut c, SUB, "g1", "stwif01", "westus", AccountChange::default()).unwrap_err();
    assert_eq!((moved.status, moved.code), (409, "InvalidResourceLocation"));
    let no_group = put_storage_account(&mut c, SUB, "nope", "stwif02", "eastus", AccountChange::default()).unwrap_err();
    assert_eq!((no_group.status, no_group.code), (404, "ResourceGroupNotFound"));
    let no_location = put_storage_account(&mut c, SUB, "g1", "stwif02", " ", AccountChange::default()).unwrap_err();
    assert_eq!((no_location.status, no_location.code), (400, "LocationRequired"));
}

#[test]
fn storage_account_names_follow_azure_s_rule_and_are_global() {
    let mut c = two_subscriptions();
    for bad in [
        "ab",
        "Stwif01",
        "st-wif",
        "st_wif",
        "a234567890123456789012345",
        "stwïf",
    ] {
        let refused = put_storage_account(&mut c, SUB, "g1", bad, "eastus", AccountChange::default()).unwrap_err();
        assert_eq!((refused.status, refused.code), (400, "AccountNameInvalid"), "{bad}");
        assert!(
            refused
                .message
                .starts_with(&format!("{bad} is not a valid storage account name.")),
            "{}",
            refused.message
        );
        assert_eq!(storage_name_availability(&c, bad).reason, Some("AccountNameInvalid"));
    }
    put_storage_account(
        &mut c,
        SUB,
        "g1",
        "a23456789012345678901234",
        "eastus",
        AccountChange::default(),
    )
    .unwrap();
    put_storage_account(&mut c, SUB, "g1", "abc", "eastus", AccountChange::default()).unwrap();
    for (sub, group) in [(SUB, "g2"), (OTHER_SUB, "g3")] {
        let taken = put_storage_account(&mut c, sub, group, "abc", "eastus", AccountChange::default()).unwrap_err();
        assert_eq!(
            (taken.status, taken.code),
            (409, "StorageAccountAlreadyTaken"),
            "{group}"
        );
        assert_eq!(taken.message, "The storage account named abc is already taken.");
    }
    let taken = storage_name_availability(&c, "abc");
    assert_eq!((taken.available, taken.reason), (false, Some("AlreadyExists")));
    let free = storage_name_availability(&c, "abcd");
    assert_eq!((free.available, free.reason, free.message), (true, None, None));
    let listed = |c: &AzureConfig, sub: &str, group: Option<&str>| {
        storage_accounts(c, sub, group)
            .unwrap()
            .iter()
            .map(|(a, _)| a.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(&c, SUB, Some("g1")).len(), 2);
    assert!(listed(&c, SUB, Some("g2")).is_empty());
    assert!(listed(&c, OTHER_SUB, None).is_empty());
    assert_eq!(
        storage_accounts(&c, SUB, Some("nope")).unwrap_err().code,
        "ResourceGroupNotFound"
    );
}

#[test]
fn a_patch_changes_what_it_names_and_a_missing_account_is_not_found() {
    let mut c = two_subscriptions();
    put_storage_account(&mut c, SUB, "g1", "stwif01", "eastus", flags(false)).unwrap();
    let change = AccountChange {
        allow_blob_public_access: Some(false),
        minimum_tls_version: Some("TLS1_2".into()),
        sku: Some("Standard_GRS".into()),
        ..AccountChange::default()
    };
    let (patched, _) = patch_storage_account(&mut c, SUB, "g1", "stwif01", change).unwrap();
    assert_eq!(
        (
            patched.allow_shared_key_access,
            patched.allow_blob_public_access,
            patched.minimum_tls_version.as_deref(),
            patched.sku.as_str()
        ),
        (Some(false), Some(false), Some("TLS1_2"), "Standard_GRS")
    );
    let missing = patch_storage_account(&mut c, SUB, "g2", "stwif01", AccountChange::default()).unwrap_err();
    assert_eq!((missing.status, missing.code), (404, "ResourceNotFound"));
    assert!(
        missing
            .message
            .contains("'Microsoft.Storage/storageAccounts/stwif01' under resource group 'g2'")
    );
    assert_eq!(keys_refused("stwif01").status, 409);
    assert_eq!(keys_refused("stwif01").code, "KeyBasedAuthenticationNotPermitted");
}

fn assignment_at(scope: String) -> RoleAssignmentConfig {
    RoleAssignmentConfig {
        name: "a0000000-0000-4000-8000-000000000001".into(),
        scope,
        role_definition_id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1".into(),
        principal_id: "0b1e0000-0000-4000-8000-000000000001".into(),
        ..RoleAssignmentConfig::default()
    }
}

#[test]
fn deleting_an_account_or_its_group_takes_the_account_and_its_assignments() {
    let mut c = two_subscriptions();
    let (_, place, _) = put_storage_account(&mut c, SUB, "g1", "stwif01", "eastus", AccountChange::default()).unwrap();
    c.role_assignments.push(assignment_at(place.account_id("stwif01")));
    assert!(delete_storage_account(&mut c, SUB, "g1", "stwif01").unwrap());
    assert!(find_storage_account(&c, "stwif01").is_none());
    assert!(c.role_assignments.is_empty(), "the account's assignments go with it");
    assert!(
        !delete_storage_account(&mut c, SUB, "g1", "stwif01").unwrap(),
        "absent: 204"
    );
    assert_eq!(
        delete_storage_account(&mut c, SUB, "nope", "stwif01").unwrap_err().code,
        "ResourceGroupNotFound"
    );

    let (_, place, _) = put_storage_account(&mut c, SUB, "g2", "stwif02", "eastus", AccountChange::default()).unwrap();
    c.role_assignments.push(assignment_at(format!(
        "{}/blobServices/default/containers/c",
        place.account_id("stwif02")
    )));
    delete_group(&mut c, SUB, "g2").unwrap();
    assert!(find_storage_account(&c, "stwif02").is_none());
    assert!(c.role_assignments.is_empty());
    put_storage_account(&mut c, OTHER_SUB, "g3", "stwif02", "eastus", AccountChange::default())
        .expect("the name is free again once its group is gone");
}

#[test]
fn a_file_with_an_invalid_or_duplicate_account_name_is_refused() {
    let mut c = two_subscriptions();
    c.subscriptions[0].resource_groups[0]
        .storage_accounts
        .push(StorageAccountConfig::new("stwif01", "eastus"));
    assert_eq!(check(&c), Ok(()));
    c.subscriptions[1].resource_groups[0]
        .storage_accounts
        .push(StorageAccountConfig::new("stwif01", "eastus"));
    let twice = check(&c).unwrap_err();
    assert_eq!(
        (twice.location.as_str(), &twice.problem),
        (
            "subscriptions[1].resourceGroups[0].storageAccounts[0]",
            &AzureProblem::StorageAccountTwice("stwif01".into())
        )
    );
    c.subscriptions[1].resource_groups[0].storage_accounts[0].name = "St-Wif".into();
    let invalid = check(&c).unwrap_err();
    assert_eq!(invalid.problem, AzureProblem::StorageAccountName("St-Wif".into()));
    let parsed: Result<AzureConfig, _> = serde_saphyr::from_str(
        "subscriptions: [{subscriptionId: s, tenantId: t, resourceGroups: [{name: g, location: eastus, storageAccounts: [{name: a, location: eastus, keys: x}]}]}]",
    );
    let refused = parsed.expect_err("unknown account fields are refused");
    assert!(refused.to_string().contains("keys"), "{refused}");
}
