//! The plane's operations on a state made here: groups, identities and their credentials,
//! assignments and the caller role, global vault names, the plane's own rules; storage
//! accounts in [`storage`].

use wif_sts::directory::TenantConfig;

use super::*;
use crate::config::check::{AzureProblem, check};
use crate::config::{AzureConfig, KeyVaultConfig, SubscriptionConfig};

mod storage;

const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const SUB: &str = "5ab5c71b-0000-4000-8000-000000000001";

fn config() -> AzureConfig {
    AzureConfig {
        tenants: vec![TenantConfig {
            tenant_id: TENANT.into(),
            ..TenantConfig::default()
        }],
        subscriptions: vec![SubscriptionConfig {
            subscription_id: SUB.into(),
            tenant_id: TENANT.into(),
            ..SubscriptionConfig::default()
        }],
        ..AzureConfig::default()
    }
}

fn ids(n: u8) -> (String, String) {
    (
        format!("c1e00000-0000-4000-8000-0000000000{n:02}"),
        format!("0b1e0000-0000-4000-8000-0000000000{n:02}"),
    )
}

#[test]
fn a_group_keeps_its_location_and_a_second_put_is_an_update() {
    let mut c = config();
    let (_, created) = put_group(&mut c, SUB, "myRG", "East US", None).unwrap();
    assert!(created);
    assert_eq!(c.subscriptions[0].resource_groups[0].location, "eastus");
    let (_, created) = put_group(&mut c, SUB, "myrg", "eastus", None).unwrap();
    assert!(!created, "names are case-insensitive");
    let moved = put_group(&mut c, SUB, "myRG", "westus", None).unwrap_err();
    assert_eq!((moved.status, moved.code), (409, "InvalidResourceGroupLocation"));
    assert_eq!(
        put_group(&mut c, SUB, "bad/name", "eastus", None).unwrap_err().code,
        "InvalidResourceName"
    );
    let other = put_group(&mut c, "5ab5c71b-0000-4000-8000-000000000009", "g", "eastus", None).unwrap_err();
    assert_eq!((other.status, other.code), (404, "SubscriptionNotFound"));
}

#[test]
fn an_identity_keeps_its_ids_across_puts_and_lands_in_its_tenant() {
    let mut c = config();
    let missing = put_identity(&mut c, SUB, "myRG", "id-app", None, None, ids(1)).unwrap_err();
    assert_eq!((missing.status, missing.code), (404, "ResourceGroupNotFound"));
    put_group(&mut c, SUB, "myRG", "eastus", None).unwrap();
    let (first, created) = put_identity(&mut c, SUB, "myRG", "id-app", Some("eastus"), None, ids(1)).unwrap();
    assert!(created);
    let (again, created) = put_identity(&mut c, SUB, "MYRG", "id-app", Some("eastus"), None, ids(2)).unwrap();
    assert!(!created);
    assert_eq!(
        (again.client_id, again.principal_id),
        (first.client_id.clone(), first.principal_id.clone())
    );
    assert_eq!(c.tenants[0].user_assigned_identities.len(), 1);
    assert_eq!(
        c.tenants[0].user_assigned_identities[0].resource_id.as_deref(),
        Some(format!("/subscriptions/{SUB}/resourcegroups/myRG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app").as_str())
    );
    let gone = identity(&c, SUB, "myRG", "other").unwrap_err();
    assert_eq!((gone.status, gone.code), (404, "ResourceNotFound"));
}

#[test]
fn credentials_follow_entra_rules_and_a_missing_field_is_azure_s_bad_request() {
    let mut c = config();
    put_group(&mut c, SUB, "g", "eastus", None).unwrap();
    put_identity(&mut c, SUB, "g", "id-app", None, None, ids(1)).unwrap();
    let input = |subject: &str| CredentialInput {
        issuer: Some("https://issuer.example/".into()),
        subject: Some(subject.into()),
        audiences: Some(vec!["api://AzureADTokenExchange".into()]),
    };
    let (_, created) =
        put_credential(&mut c, SUB, "g", "id-app", "fc-one", input("system:serviceaccount:a:b")).unwrap();
    assert!(created);
    let (_, created) =
        put_credential(&mut c, SUB, "g", "id-app", "fc-one", input("system:serviceaccount:a:b")).unwrap();
    assert!(!created, "a re-run replaces, as ARM's PUT does");
    let twin = put_credential(&mut c, SUB, "g", "id-app", "fc-two", input("system:serviceaccount:a:b")).unwrap_err();
    assert_eq!((twin.status, twin.code), (400, "BadRequest"));
    assert!(
        twin.message.contains("Issuer and subject combination already exists"),
        "{}",
        twin.message
    );
    let partial = CredentialInput {
        subject: None,
        ..input("x")
    };
    let refused = put_credential(&mut c, SUB, "g", "id-app", "fc-three", partial).unwrap_err();
    assert!(
        refused
            .message
            .ends_with("must specify 'issuer', 'subject' and 'audience'.")
    );
    assert_eq!(identity(&c, SUB, "g", "id-app").unwrap().credentials.len(), 1);
}

#[test]
fn role_assignments_are_unique_per_scope_role_and_principal() {
    let mut c = config();
    put_group(&mut c, SUB, "g", "eastus", None).unwrap();
    let (mi, _) = put_identity(&mut c, SUB, "g", "id-app", None, None, ids(1)).unwrap();
    let input = |name: &str, principal: &str| AssignmentInput {
        scope: format!("/subscriptions/{SUB}/resourceGroups/g"),
        name: name.into(),
        role_definition_id: format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
        ),
        principal_id: principal.into(),
        principal_type: Some("ServicePrincipal".into()),
    };
    let name = "a0000000-0000-4000-8000-000000000001";
    create_assignment(&mut c, input(name, &mi.principal_id), "t".into(), "me").unwrap();
    let again = create_assignment(&mut c, input(name, &mi.principal_id), "t".into(), "me").unwrap();
    assert_eq!(again.name, name, "the same name and content is answered again");
    let twin = create_assignment(
        &mut c,
        input("a0000000-0000-4000-8000-000000000002", &mi.principal_id),
        "t".into(),
        "me",
    )
    .unwrap_err();
    assert_eq!((twin.status, twin.code), (409, "RoleAssignmentExists"));
    let stranger = create_assignment(
        &mut c,
        input(
            "a0000000-0000-4000-8000-000000000003",
            "0b1e0000-0000-4000-8000-000000000099",
        ),
        "t".into(),
        "me",
    )
    .unwrap_err();
    assert_eq!((stranger.status, stranger.code), (400, "PrincipalNotFound"));
    let mut unknown = input("a0000000-0000-4000-8000-000000000004", &mi.principal_id);
    unknown.role_definition_id = "00000000-0000-4000-8000-000000000000".into();
    assert_eq!(
        create_assignment(&mut c, unknown, "t".into(), "me").unwrap_err().code,
        "RoleDefinitionDoesNotExist"
    );
    let vault_scope = format!("/subscriptions/{SUB}/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v1");
    assert_eq!(
        assignments_at(&c, &vault_scope, true).len(),
        1,
        "atScope() includes the scopes above"
    );
    assert_eq!(assignments_at(&c, &format!("/subscriptions/{SUB}"), true).len(), 0);
    assert_eq!(assignments_at(&c, &format!("/subscriptions/{SUB}"), false).len(), 1);
}

#[test]
fn the_caller_role_is_owner_for_applications_unless_configured() {
    let mut c = config();
    let app = "0a000000-0000-4000-8000-000000000001";
    c.tenants[0].applications.push(wif_sts::directory::ApplicationConfig {
        display_name: "admin".into(),
        app_id: "c1a00000-0000-4000-8000-000000000001".into(),
        object_id: Some(app.into()),
        federated_identity_credentials: Vec::new(),
        ..Default::default()
    });
    put_group(&mut c, SUB, "g", "eastus", None).unwrap();
    let (mi, _) = put_identity(&mut c, SUB, "g", "id-app", None, None, ids(1)).unwrap();
    let owner = effective_assignments(&c, app, TENANT);
    assert_eq!(owner.len(), 1);
    assert_eq!(owner[0].role_id, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
    assert!(effective_assignments(&c, app, "bbbbbbbb-0000-4000-8000-00000000000b").is_empty());
    assert!(
        effective_assignments(&c, &mi.principal_id, TENANT).is_empty(),
        "a managed identity holds only what is assigned to it"
    );
    c.subscriptions[0].caller_role = Some("None".into());
    assert!(effective_assignments(&c, app, TENANT).is_empty());
    c.subscriptions[0].caller_role = Some("Janitor".into());
    let refused = check(&c).unwrap_err();
    assert_eq!(
        (refused.location.as_str(), &refused.problem),
        ("subscriptions[0]", &AzureProblem::CallerRole("Janitor".into()))
    );
    assert_eq!(
        refused.to_string(),
        "subscriptions[0]: callerRole \"Janitor\" is no built-in role (or None)"
    );
}

#[test]
fn vault_names_are_global() {
    let mut c = config();
    put_group(&mut c, SUB, "g1", "eastus", None).unwrap();
    put_group(&mut c, SUB, "g2", "eastus", None).unwrap();
    let vault = |name: &str| KeyVaultConfig {
        name: name.into(),
        location: "eastus".into(),
        enable_rbac_authorization: true,
        access_policies: Vec::new(),
        sku: "standard".into(),
        tags: Default::default(),
        secrets: Default::default(),
    };
    let (_, place, created) = put_vault(&mut c, SUB, "g1", vault("kv-one")).unwrap();
    assert!(created);
    assert_eq!(
        place.vault_id("kv-one"),
        format!("/subscriptions/{SUB}/resourceGroups/g1/providers/Microsoft.KeyVault/vaults/kv-one")
    );
    let taken = put_vault(&mut c, SUB, "g2", vault("KV-ONE")).unwrap_err();
    assert_eq!((taken.status, taken.code), (409, "VaultAlreadyExists"));
    assert_eq!(
        put_vault(&mut c, SUB, "g1", vault("1kv")).unwrap_err().code,
        "VaultNameNotValid"
    );
    assert_eq!(vault_place_of(&c, "kv-one"), Some("g1".to_owned()));
    assert!(delete_vault(&mut c, SUB, "g1", "kv-one").unwrap());
    assert_eq!(vault_place_of(&c, "kv-one"), None);
}

fn vault_place_of(c: &AzureConfig, name: &str) -> Option<String> {
    find_vault(c, name).map(|(_, p)| p.resource_group)
}
