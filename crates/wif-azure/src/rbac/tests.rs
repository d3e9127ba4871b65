//! The checks the Key Vault tutorial depends on, and the rules under them.

use super::*;

const SUB: &str = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333";
const ME: &str = "3f1eaa3f-85ee-43e6-890b-a7c432b2a156";
const OTHER: &str = "5d2bbbbb-85ee-43e6-890b-a7c432b2a156";
const GET: &str = "Microsoft.KeyVault/vaults/secrets/getSecret/action";
const SET: &str = "Microsoft.KeyVault/vaults/secrets/setSecret/action";

fn vault() -> String {
    format!("{SUB}/resourceGroups/myRG/providers/Microsoft.KeyVault/vaults/wid-tuto-kv")
}

fn secret() -> Scope {
    Scope::new(&format!("{}/secrets/wid-tuto-password", vault()))
}

fn assign(scope: &str, role: &str, principal: &str) -> Assignment {
    Assignment {
        name: "c0ffee00-0000-4000-8000-000000000001".into(),
        scope: Scope::new(scope),
        role_id: role_by_name(role).map(|r| r.id).unwrap_or("missing").into(),
        principal_id: principal.into(),
    }
}

#[test]
fn the_tutorials_roles_are_there_by_name_and_by_id() {
    let user = role_by_name("key vault secrets user").unwrap();
    assert_eq!(user.id, "4633458b-17de-408a-b874-0445c86b69e6");
    let full = format!("{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458B-17DE-408A-B874-0445C86B69E6");
    assert_eq!(role_by_id(&full), Some(user));
    for name in [
        "Reader",
        "Contributor",
        "Owner",
        "Key Vault Secrets Officer",
        "Key Vault Administrator",
        "Storage Blob Data Reader",
        "Storage Blob Data Contributor",
    ] {
        assert!(role_by_name(name).is_some(), "{name}");
    }
    assert_eq!(role_by_name("Key Vault Reader Of Everything"), None);
    let mut ids: Vec<&str> = BUILT_IN_ROLES.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), BUILT_IN_ROLES.len(), "a GUID used twice");
}

#[test]
fn secrets_user_at_the_vault_reads_but_does_not_write() {
    let assignments = [assign(&vault(), "Key Vault Secrets User", ME)];
    assert!(matches!(
        evaluate(&assignments, ME, &secret(), Plane::Data, GET),
        Decision::Allowed { .. }
    ));
    assert_eq!(
        evaluate(&assignments, ME, &secret(), Plane::Data, SET),
        Decision::Denied
    );
    // Another principal, and the control plane, get nothing from it.
    assert_eq!(
        evaluate(&assignments, OTHER, &secret(), Plane::Data, GET),
        Decision::Denied
    );
    assert_eq!(
        evaluate(
            &assignments,
            ME,
            &Scope::new(&vault()),
            Plane::Control,
            "Microsoft.KeyVault/vaults/read"
        ),
        Decision::Denied
    );
}

#[test]
fn scopes_cover_what_is_below_them_by_whole_segments_and_any_case() {
    let group = Scope::new(&format!("{SUB}/resourcegroups/MYRG/"));
    assert!(group.covers(&secret()));
    assert!(Scope::new(SUB).covers(&secret()));
    assert!(Scope::new("/").covers(&secret()));
    assert!(Scope::new("").covers(&secret()));
    assert!(!Scope::new(&format!("{SUB}/resourceGroups/myR")).covers(&secret()));
    assert!(!Scope::new(&format!("{SUB}/resourceGroups/myRG2")).covers(&secret()));
    assert!(
        !secret().covers(&Scope::new(&vault())),
        "a scope does not cover what is above it"
    );
    // An assignment at the resource group grants the secret below it.
    let assignments = [assign(
        &format!("{SUB}/resourceGroups/myRG"),
        "Key Vault Secrets Officer",
        ME,
    )];
    assert!(matches!(
        evaluate(&assignments, ME, &secret(), Plane::Data, SET),
        Decision::Allowed { .. }
    ));
    // One in another vault does not.
    let elsewhere = [assign(
        &format!("{SUB}/resourceGroups/myRG/providers/Microsoft.KeyVault/vaults/other"),
        "Key Vault Secrets User",
        ME,
    )];
    assert_eq!(evaluate(&elsewhere, ME, &secret(), Plane::Data, GET), Decision::Denied);
}

#[test]
fn wildcards_and_not_actions_as_azure_reads_them() {
    assert!(operation_matches("Microsoft.KeyVault/vaults/*", GET));
    assert!(operation_matches("microsoft.keyvault/VAULTS/secrets/*", GET));
    assert!(operation_matches(
        "*/read",
        "Microsoft.Resources/subscriptions/resourceGroups/read"
    ));
    assert!(operation_matches(
        "Microsoft.KeyVault/locations/*/read",
        "Microsoft.KeyVault/locations/eastus/deletedVaults/read"
    ));
    assert!(operation_matches("*", SET));
    assert!(operation_matches(GET, GET));
    assert!(!operation_matches(GET, SET));
    assert!(!operation_matches("*/read", "Microsoft.KeyVault/vaults/write"));
    assert!(
        !operation_matches("Microsoft.KeyVault/vaults/secrets/get", GET),
        "no implicit prefix match"
    );
    assert!(!operation_matches("a*b*b", "ab"));
    let contributor = role_by_name("Contributor").unwrap().permission;
    assert!(contributor.allows(Plane::Control, "Microsoft.KeyVault/vaults/write"));
    assert!(!contributor.allows(Plane::Control, "Microsoft.Authorization/roleAssignments/write"));
    assert!(!contributor.allows(Plane::Data, GET), "Contributor has no data actions");
    let reader = role_by_name("Reader").unwrap().permission;
    assert!(reader.allows(Plane::Control, "Microsoft.ManagedIdentity/userAssignedIdentities/read"));
    assert!(!reader.allows(Plane::Control, "Microsoft.ManagedIdentity/userAssignedIdentities/write"));
}

#[test]
fn an_assignment_naming_an_unknown_role_grants_nothing() {
    let mut broken = assign(&vault(), "Owner", ME);
    broken.role_id = "not-a-role".into();
    assert_eq!(
        evaluate(
            &[broken],
            ME,
            &secret(),
            Plane::Control,
            "Microsoft.KeyVault/vaults/read"
        ),
        Decision::Denied
    );
}

#[test]
fn scopes_with_relative_segments_are_refused_however_they_are_spelled() {
    for (id, segment) in [
        ("/subscriptions/S/resourceGroups/rg/../..", ".."),
        ("/subscriptions/S/./resourceGroups/rg", "."),
        ("/subscriptions/S/resourceGroups/rg/%2e%2e/%2E%2E", "%2e%2e"),
        ("/subscriptions/S/resourceGroups/rg/.%2E", ".%2E"),
        ("/subscriptions/S/resourceGroups/rg/%2e/x", "%2e"),
        ("..", ".."),
    ] {
        assert_eq!(
            Scope::parse(id),
            Err(ScopeError::RelativeSegment {
                scope: id.to_owned(),
                segment: segment.to_owned(),
            }),
            "{id}"
        );
    }
    for id in [
        "/",
        "",
        "/subscriptions/S/resourceGroups/rg.1/providers/Microsoft.KeyVault/vaults/kv",
        "/subscriptions/S/resourceGroups/...",
        "/subscriptions/S/resourceGroups/a..b",
        "/subscriptions/S/resourceGroups/%252e%252e",
    ] {
        assert_eq!(Scope::parse(id), Ok(Scope::new(id)), "{id}");
    }
}
