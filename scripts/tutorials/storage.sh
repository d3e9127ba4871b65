#!/usr/bin/env bash
# A storage account for the workload (issue 27; its blobs: storage_blobs.sh), as the
# learn.microsoft.com quickstarts make one with Microsoft Entra authorization
# only: run it after workload-identity.sh, in the same shell setup. The account is created
# with shared keys off (the local plane has none to give), and the workload's identity gets
# "Storage Blob Data Reader" at the account. A re-run is an update (as in Azure) and the
# assignment's re-run path answers the existing one. Prints the account's blob endpoint.
set -euo pipefail
export RESOURCE_GROUP="${RESOURCE_GROUP:-myResourceGroup}"
export LOCATION="${LOCATION:-eastus}"
export STORAGE_ACCOUNT_NAME="${STORAGE_ACCOUNT_NAME:-stwiftuto}"
export USER_ASSIGNED_IDENTITY_NAME="${USER_ASSIGNED_IDENTITY_NAME:-myIdentity}"

az storage account create \
    --name "${STORAGE_ACCOUNT_NAME}" \
    --resource-group "${RESOURCE_GROUP}" \
    --location "${LOCATION}" \
    --sku Standard_LRS \
    --kind StorageV2 \
    --allow-shared-key-access false \
    --output none

export STORAGE_ACCOUNT_ID=$(az storage account show \
    --name "${STORAGE_ACCOUNT_NAME}" \
    --resource-group "${RESOURCE_GROUP}" \
    --query id \
    --output tsv)

export IDENTITY_PRINCIPAL_ID=$(az identity show \
    --name "${USER_ASSIGNED_IDENTITY_NAME}" \
    --resource-group "${RESOURCE_GROUP}" \
    --query principalId \
    --output tsv)
az role assignment create \
    --assignee-object-id "${IDENTITY_PRINCIPAL_ID}" \
    --role "Storage Blob Data Reader" \
    --scope "${STORAGE_ACCOUNT_ID}" \
    --assignee-principal-type ServicePrincipal \
    --output none

az storage account show --name "${STORAGE_ACCOUNT_NAME}" --resource-group "${RESOURCE_GROUP}" \
    --query primaryEndpoints.blob --output tsv
