#!/usr/bin/env bash
# The seed's Key Vault step (learn.microsoft.com "Deploy and configure workload identity on an
# AKS cluster", "Create a key vault"), verbatim but for the names: run it after
# workload-identity.sh, in the same shell setup. The caller (the logged-in service principal)
# gets "Key Vault Secrets Officer" to write the secret; the workload's identity gets "Key Vault
# Secrets User" only when GRANT_WORKLOAD=1 (so a test can see the 403 first).
set -euo pipefail
export RESOURCE_GROUP="${RESOURCE_GROUP:-myResourceGroup}"
export LOCATION="${LOCATION:-eastus}"
export KEYVAULT_NAME="${KEYVAULT_NAME:-keyvault-wif-tuto}"
export KEYVAULT_SECRET_NAME="${KEYVAULT_SECRET_NAME:-wid-tuto-password}"
export USER_ASSIGNED_IDENTITY_NAME="${USER_ASSIGNED_IDENTITY_NAME:-myIdentity}"

# az refuses to create a vault that exists ("The specified vault: ... already exists"; a
# client-side check of azure-cli, in Azure too), so a re-run skips it.
az keyvault show --name "${KEYVAULT_NAME}" --resource-group "${RESOURCE_GROUP}" --output none 2>/dev/null ||
az keyvault create \
    --name "${KEYVAULT_NAME}" \
    --resource-group "${RESOURCE_GROUP}" \
    --location "${LOCATION}" \
    --enable-purge-protection \
    --enable-rbac-authorization \
    --output none

export KEYVAULT_RESOURCE_ID=$(az keyvault show --resource-group "${RESOURCE_GROUP}" \
    --name "${KEYVAULT_NAME}" \
    --query id \
    --output tsv)

export CALLER_CLIENT_ID="$(az account show --query user.name --output tsv)"
az role assignment create --assignee "${CALLER_CLIENT_ID}" \
    --role "Key Vault Secrets Officer" \
    --scope "${KEYVAULT_RESOURCE_ID}" \
    --output none

az keyvault secret set \
    --vault-name "${KEYVAULT_NAME}" \
    --name "${KEYVAULT_SECRET_NAME}" \
    --value "${SECRET_VALUE:-Hello!}" \
    --output none

if [ "${GRANT_WORKLOAD:-1}" = 1 ]; then
  export IDENTITY_PRINCIPAL_ID=$(az identity show \
      --name "${USER_ASSIGNED_IDENTITY_NAME}" \
      --resource-group "${RESOURCE_GROUP}" \
      --query principalId \
      --output tsv)
  az role assignment create \
      --assignee-object-id "${IDENTITY_PRINCIPAL_ID}" \
      --role "Key Vault Secrets User" \
      --scope "${KEYVAULT_RESOURCE_ID}" \
      --assignee-principal-type ServicePrincipal \
      --output none
fi
az keyvault show --name "${KEYVAULT_NAME}" --resource-group "${RESOURCE_GROUP}" --query properties.vaultUri --output tsv
