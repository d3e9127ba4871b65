//! The built-in roles the tutorials use, with Azure's GUIDs, descriptions and permissions as
//! its role definitions API returns them (MicrosoftDocs/azure-docs,
//! role-based-access-control/built-in-roles; spec §5). Only these
//! exist in the local plane; `az role assignment create --role X` for another name gets ARM's
//! "Role 'X' doesn't exist." from the surface that reads this table.

use super::definition::{Permission, RoleDefinition};

const NONE: &[&str] = &[];

/// The control-plane reads Azure gives every Key Vault data-plane role but Secrets User.
const KEY_VAULT_DATA_ROLE_ACTIONS: &[&str] = &[
    "Microsoft.Authorization/*/read",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Support/*",
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read",
];

/// Every built-in role of the local plane.
pub const BUILT_IN_ROLES: &[RoleDefinition] = &[
    RoleDefinition {
        id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        role_name: "Owner",
        description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        permission: Permission {
            actions: &["*"],
            not_actions: NONE,
            data_actions: NONE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        role_name: "Contributor",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
        permission: Permission {
            actions: &["*"],
            not_actions: &[
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write",
                "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action",
                "Microsoft.Purview/consents/write",
                "Microsoft.Purview/consents/delete",
            ],
            data_actions: NONE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        role_name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        permission: Permission {
            actions: &["*/read"],
            not_actions: NONE,
            data_actions: NONE,
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        role_name: "Key Vault Administrator",
        description: "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        permission: Permission {
            actions: KEY_VAULT_DATA_ROLE_ACTIONS,
            not_actions: NONE,
            data_actions: &["Microsoft.KeyVault/vaults/*"],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        role_name: "Key Vault Secrets Officer",
        description: "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        permission: Permission {
            actions: KEY_VAULT_DATA_ROLE_ACTIONS,
            not_actions: NONE,
            data_actions: &["Microsoft.KeyVault/vaults/secrets/*"],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "4633458b-17de-408a-b874-0445c86b69e6",
        role_name: "Key Vault Secrets User",
        description: "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        permission: Permission {
            actions: NONE,
            not_actions: NONE,
            data_actions: &[
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        role_name: "Storage Blob Data Reader",
        description: "Allows for read access to Azure Storage blob containers and data",
        permission: Permission {
            actions: &[
                "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            ],
            not_actions: NONE,
            data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        role_name: "Storage Blob Data Contributor",
        description: "Allows for read, write and delete access to Azure Storage blob containers and data",
        permission: Permission {
            actions: &[
                "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
                "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/write",
                "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            ],
            not_actions: NONE,
            data_actions: &[
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
            ],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        role_name: "Storage Blob Data Owner",
        description: "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access control.",
        permission: Permission {
            actions: &[
                "Microsoft.Storage/storageAccounts/blobServices/containers/*",
                "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            ],
            not_actions: NONE,
            data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
            not_data_actions: NONE,
        },
    },
    RoleDefinition {
        id: "17d1049b-9a84-46fb-8f53-869881c3d3ab",
        role_name: "Storage Account Contributor",
        description: "Lets you manage storage accounts, including accessing storage account keys which provide full access to storage account data.",
        permission: Permission {
            actions: &[
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Insights/diagnosticSettings/*",
                "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
                "Microsoft.ResourceHealth/availabilityStatuses/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Storage/storageAccounts/*",
                "Microsoft.Support/*",
            ],
            not_actions: NONE,
            data_actions: NONE,
            not_data_actions: NONE,
        },
    },
];

/// The role named `role_name` (case-insensitive, as ARM's `$filter=roleName eq '...'`).
pub fn role_by_name(role_name: &str) -> Option<&'static RoleDefinition> {
    BUILT_IN_ROLES
        .iter()
        .find(|r| r.role_name.eq_ignore_ascii_case(role_name.trim()))
}

/// The role a `roleDefinitionId` names: a GUID, or a full id ending in
/// `/providers/Microsoft.Authorization/roleDefinitions/<GUID>` at any scope.
pub fn role_by_id(id: &str) -> Option<&'static RoleDefinition> {
    let guid = id.trim().rsplit('/').next().unwrap_or_default();
    BUILT_IN_ROLES.iter().find(|r| r.id.eq_ignore_ascii_case(guid))
}
