#!/usr/bin/env bash
# The seed's workload identity setup (learn.microsoft.com "Deploy and configure workload
# identity on an AKS cluster"), verbatim but for the names: run it in a shell where
# `wif up --print-az-setup` was evaluated (a registered custom cloud, or with
# --production-names azure-cli's own AzureCloud). Every command may be run again
# (idempotent, as in Azure). The local cluster is `wif-local` in group `wif-local`.
set -euo pipefail
export RESOURCE_GROUP="${RESOURCE_GROUP:-myResourceGroup}"
export LOCATION="${LOCATION:-eastus}"
export CLUSTER_NAME="${CLUSTER_NAME:-wif-local}"
export CLUSTER_GROUP="${CLUSTER_GROUP:-wif-local}"
export SERVICE_ACCOUNT_NAMESPACE="${SERVICE_ACCOUNT_NAMESPACE:-default}"
export SERVICE_ACCOUNT_NAME="${SERVICE_ACCOUNT_NAME:-workload-identity-sa}"
export SUBSCRIPTION="$(az account show --query id --output tsv)"
export USER_ASSIGNED_IDENTITY_NAME="${USER_ASSIGNED_IDENTITY_NAME:-myIdentity}"
export FEDERATED_IDENTITY_CREDENTIAL_NAME="${FEDERATED_IDENTITY_CREDENTIAL_NAME:-myFedIdentity}"

az group create --name "${RESOURCE_GROUP}" --location "${LOCATION}" --output none

az identity create \
    --name "${USER_ASSIGNED_IDENTITY_NAME}" \
    --resource-group "${RESOURCE_GROUP}" \
    --location "${LOCATION}" \
    --subscription "${SUBSCRIPTION}" \
    --output none

export USER_ASSIGNED_CLIENT_ID="$(az identity show \
    --resource-group "${RESOURCE_GROUP}" \
    --name "${USER_ASSIGNED_IDENTITY_NAME}" \
    --query 'clientId' \
    --output tsv)"

export AKS_OIDC_ISSUER="$(az aks show --name "${CLUSTER_NAME}" \
    --resource-group "${CLUSTER_GROUP}" \
    --query "oidcIssuerProfile.issuerUrl" \
    --output tsv)"

az identity federated-credential create \
    --name "${FEDERATED_IDENTITY_CREDENTIAL_NAME}" \
    --identity-name "${USER_ASSIGNED_IDENTITY_NAME}" \
    --resource-group "${RESOURCE_GROUP}" \
    --issuer "${AKS_OIDC_ISSUER}" \
    --subject system:serviceaccount:"${SERVICE_ACCOUNT_NAMESPACE}":"${SERVICE_ACCOUNT_NAME}" \
    --audience api://AzureADTokenExchange \
    --output none

az identity federated-credential list \
    --identity-name "${USER_ASSIGNED_IDENTITY_NAME}" \
    --resource-group "${RESOURCE_GROUP}" \
    --query "[].{name:name, issuer:issuer, subject:subject}" \
    --output tsv

az role assignment create \
    --assignee "${USER_ASSIGNED_CLIENT_ID}" \
    --role "Reader" \
    --scope "/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}" \
    --output none

# The seed's ServiceAccount and Deployment, for `wif render`.
cat > "${MANIFEST:-workload.yaml}" <<YAML
apiVersion: v1
kind: ServiceAccount
metadata:
  annotations:
    azure.workload.identity/client-id: "${USER_ASSIGNED_CLIENT_ID}"
  name: "${SERVICE_ACCOUNT_NAME}"
  namespace: "${SERVICE_ACCOUNT_NAMESPACE}"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sample-workload-identity
  namespace: "${SERVICE_ACCOUNT_NAMESPACE}"
spec:
  replicas: 1
  selector:
    matchLabels:
      app: sample-workload-identity
  template:
    metadata:
      labels:
        app: sample-workload-identity
        azure.workload.identity/use: "true"
    spec:
      serviceAccountName: "${SERVICE_ACCOUNT_NAME}"
      containers:
      - name: sample
        image: mcr.microsoft.com/azure-cli:latest
        command: ["sleep", "infinity"]
YAML
echo "client id ${USER_ASSIGNED_CLIENT_ID}, issuer ${AKS_OIDC_ISSUER}, manifest ${MANIFEST:-workload.yaml}"
