#!/usr/bin/env bash
# Seed 003's blob data-plane commands (issue 27), with Microsoft Entra authorization only
# (`--auth-mode login`): run it after storage.sh, in a shell where `wif up --print-az-setup` was
# evaluated and `az login --federated-token` signed in the identity that does the work (a
# workload identity, as in a pod). azure-cli builds the blob endpoint from its cloud's storage
# suffix (the registered cloud's https://<account>.blob.storage.wif.test, or AzureCloud's
# https://<account>.blob.core.windows.net under --production-names) and reaches it through
# HTTPS_PROXY (the emulator's CONNECT front), trusting REQUESTS_CA_BUNDLE.
#
# The signed-in identity needs a data role first, given by someone who may assign roles:
#   az role assignment create --role "Storage Blob Data Contributor" \
#       --assignee-object-id "<its object id>" --assignee-principal-type ServicePrincipal \
#       --scope "$(az storage account show -n "${STORAGE_ACCOUNT_NAME}" -g "${RESOURCE_GROUP}" --query id -o tsv)"
# Without one, the first command is refused (Storage's AuthorizationPermissionMismatch, which
# azure-cli prints as "You do not have the required permissions needed to perform this
# operation.").
#
# Prints whether the container was created (true, or false when it existed), then the blob
# names in the container; the downloaded copy is left in DOWNLOAD_FILE. The upload is not an
# overwrite: a second run is refused with BlobAlreadyExists, as in Azure.
set -euo pipefail
export STORAGE_ACCOUNT_NAME="${STORAGE_ACCOUNT_NAME:-stwiftuto}"
export CONTAINER_NAME="${CONTAINER_NAME:-input}"
export BLOB_NAME="${BLOB_NAME:-report.csv}"
export UPLOAD_FILE="${UPLOAD_FILE:-report.csv}"
export DOWNLOAD_FILE="${DOWNLOAD_FILE:-report.downloaded.csv}"

az storage container create \
    --name "${CONTAINER_NAME}" \
    --account-name "${STORAGE_ACCOUNT_NAME}" \
    --auth-mode login \
    --query created \
    --output tsv

az storage blob upload \
    --account-name "${STORAGE_ACCOUNT_NAME}" \
    --container-name "${CONTAINER_NAME}" \
    --name "${BLOB_NAME}" \
    --file "${UPLOAD_FILE}" \
    --auth-mode login \
    --no-progress \
    --output none

az storage blob list \
    --account-name "${STORAGE_ACCOUNT_NAME}" \
    -c "${CONTAINER_NAME}" \
    --auth-mode login \
    --output tsv \
    --query [].name

az storage blob download \
    --account-name "${STORAGE_ACCOUNT_NAME}" \
    --container-name "${CONTAINER_NAME}" \
    --name "${BLOB_NAME}" \
    --file "${DOWNLOAD_FILE}" \
    --auth-mode login \
    --no-progress \
    --output none
