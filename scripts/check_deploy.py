#!/usr/bin/env python3
"""Renders deploy/ with kustomize (kubectl kustomize) and the Helm chart with Helm's own engine
(helm-python-sdk, no helm binary needed), and checks every output: each core object against the
Kubernetes schema (kubernetes-validate, strict, 1.33 and 1.37), the contract with
azure-workload-identity (names, MutatingWebhookConfiguration shape, ports, hardening), the
cert-manager wiring, the failure-policy-ignore overlay's healing, and that the chart's knobs take effect. Run by scripts/test with the venv's python; argv[1] is kubectl,
argv[2] the kubernetes-validate executable, argv[3] the wif binary. Exits non-zero on any failure."""
import os, subprocess, sys, tempfile

import yaml

KUBECTL, VALIDATE, WIF = sys.argv[1], sys.argv[2], sys.argv[3]
failures = 0


def check(name, ok, detail=""):
    global failures
    print(f"{'ok' if ok else 'FAILED'}: {name}{'' if ok else ' -- ' + str(detail)[:400]}")
    failures += 0 if ok else 1


def render(path):
    out = subprocess.run([KUBECTL, "kustomize", path], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"kubectl kustomize {path}: {out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def one(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)}"
    return found[0]


def render_chart(values):
    import helm_python
    chart = helm_python.Chart.load("deploy/helm/wif-webhook")
    out = chart.render(values, name="wif", namespace="azure-workload-identity-system", is_install=True)
    return [d for text in out.values() for d in yaml.safe_load_all(text) if d]


TENANT = "aaaaaaaa-0000-4000-8000-00000000000a"
KNOBS = {
    "azureTenantID": TENANT, "certManager": {"enabled": True}, "hostNetwork": True, "webhookPort": 10250,
    "failurePolicy": "Ignore", "timeoutSeconds": 5, "audience": "api://custom", "tokenLayout": "legacy",
    "authorityHost": "https://login.example/", "nativeSidecar": True, "podDisruptionBudget": {"maxUnavailable": 1},
    "mutatingWebhookNamespaceSelector": {"matchLabels": {"wif": "on"}}, "extraEnv": [{"name": "EXTRA", "value": "1"}],
    "proxyImage": "ghcr.io/wif-dev/wif-proxy:0.1.0", "proxyInitImage": "ghcr.io/wif-dev/wif-proxy-init:0.1.0",
    "customTokenEndpoint": {"annotationSuffix": "identity-binding", "audience": "api://AKSIdentityBinding",
                            "azureKubernetesTokenProxy": "https://kubernetes.default.svc", "azureKubernetesCAConfigMapName": "kube-root-ca.crt"},
}
outputs = [
    ("deploy/base", lambda: render("deploy/base"), False),
    ("deploy/overlays/cert-manager", lambda: render("deploy/overlays/cert-manager"), True),
    ("deploy/overlays/failure-policy-ignore", lambda: render("deploy/overlays/failure-policy-ignore"), False),
    ("helm chart, defaults", lambda: render_chart({"azureTenantID": TENANT}), False),
    ("helm chart, every knob", lambda: render_chart(KNOBS), True),
]

for overlay, produce, cert_manager in outputs:
    docs = produce()
    core = [d for d in docs if not d["apiVersion"].startswith("cert-manager.io/")]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump_all(core, f)
    for version in ["1.33.0", "1.37.0"]:
        res = subprocess.run([VALIDATE, "--strict", "--quiet", "-k", version, f.name], capture_output=True, text=True)
        check(f"{overlay}: {len(core)} objects valid against Kubernetes {version}", res.returncode == 0, res.stdout + res.stderr)
    os.unlink(f.name)

    mwc = one(docs, "MutatingWebhookConfiguration", "azure-wi-webhook-mutating-webhook-configuration")
    hook = mwc["webhooks"][0]
    check(f"{overlay}: upstream's MutatingWebhookConfiguration", hook["name"] == "mutation.azure-workload-identity.io"
          and hook["objectSelector"] == {"matchLabels": {"azure.workload.identity/use": "true"}}
          and hook["failurePolicy"] == ("Ignore" if ("knob" in overlay or "ignore" in overlay) else "Fail") and hook["reinvocationPolicy"] == "IfNeeded" and hook["sideEffects"] == "None"
          and hook["admissionReviewVersions"] == ["v1", "v1beta1"]
          and hook["rules"] == [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]
          and hook["clientConfig"]["service"] == {"name": "azure-wi-webhook-webhook-service", "namespace": "azure-workload-identity-system",
                                                 "path": "/mutate-v1-pod", "port": 443}, hook)
    svc = one(docs, "Service", "azure-wi-webhook-webhook-service")
    deploy = one(docs, "Deployment", "azure-wi-webhook-controller-manager")
    pod = deploy["spec"]["template"]["spec"]
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    check(f"{overlay}: Service 443 reaches the webhook on its port", svc["spec"]["ports"][0]["port"] == 443
          and ports[svc["spec"]["ports"][0]["targetPort"]] == (10250 if "knob" in overlay else 9443), (svc["spec"], ports))
    check(f"{overlay}: the Service and the PDB select the Deployment's pods",
          all(deploy["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in svc["spec"]["selector"].items())
          and one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == deploy["spec"]["selector"]["matchLabels"])
    sc, psc = container["securityContext"], pod["securityContext"]
    check(f"{overlay}: two replicas, hardened, probes on the health port", deploy["spec"]["replicas"] == 2
          and psc["runAsNonRoot"] and psc["seccompProfile"]["type"] == "RuntimeDefault" and sc["readOnlyRootFilesystem"]
          and sc["capabilities"]["drop"] == ["ALL"] and not sc["allowPrivilegeEscalation"]
          and container["readinessProbe"]["httpGet"]["path"] == "/readyz" and container["livenessProbe"]["httpGet"]["path"] == "/healthz")
    check(f"{overlay}: the container runs `wif webhook` with upstream's flags", container["args"][0] == "webhook"
          and "--webhook-cert-dir=/certs" in container["args"] and container["image"].startswith("ghcr.io/wif-dev/wif:"), container["args"])
    # clap stops at the first flag it does not know, before a trailing --help.
    parsed = subprocess.run([WIF, *container["args"], "--help"], capture_output=True, text=True)
    check(f"{overlay}: `wif` accepts every flag the Deployment passes", parsed.returncode == 0, parsed.stderr)
    # Upstream's RBAC (spec/upstream-azwi.md 2.8) and the stranded-pods reconciler's, every rule
    # of both roles, nothing more.
    cluster_role = one(docs, "ClusterRole", "azure-wi-webhook-manager-role")
    role = one(docs, "Role", "azure-wi-webhook-manager-role")
    check(f"{overlay}: RBAC: upstream's, and the stranded-pods reconciler's, nothing more", cluster_role["rules"] == [
              {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]},
              {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"], "verbs": ["get", "list", "watch", "update"]},
              {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
              {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
              {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]}]
          and role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
                                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create", "get", "update"]}]
          and all(d["metadata"].get("namespace") == "azure-workload-identity-system" for d in docs if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration")))

    # failurePolicy Ignore pairs with healing; Fail reports stranded pods only.
    heal = [a for a in container["args"] if a.startswith("--heal=")]
    expected = {"deploy/base": [], "deploy/overlays/cert-manager": [], "deploy/overlays/failure-policy-ignore": ["--heal=evict"],
                "helm chart, defaults": ["--heal=none"], "helm chart, every knob": ["--heal=evict"]}[overlay]
    check(f"{overlay}: healing follows the failure policy ({expected or 'the default, report only'})", heal == expected, heal)
    check(f"{overlay}: the pod knows its name (the Lease's holder)",
          {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in container["env"], container["env"])

    if cert_manager:
        cert = one(docs, "Certificate")
        secret_name = next(v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v)
        check("cert-manager: the Certificate writes the Secret the webhook mounts, for the Service's DNS name",
              cert["spec"]["secretName"] == secret_name and "azure-wi-webhook-webhook-service.azure-workload-identity-system.svc" in cert["spec"]["dnsNames"])
        check("cert-manager: CA injected into the MWC, built-in rotation off, no empty Secret left",
              mwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == f"azure-workload-identity-system/{cert['metadata']['name']}"
              and "--disable-cert-rotation" in container["args"] and not [d for d in docs if d["kind"] == "Secret"])

    if "knob" in overlay:
        args = container["args"]
        check("helm knobs reach the webhook's flags", all(a in args for a in [
            "--port=10250", "--audience=api://custom", "--token-layout=legacy", "--authority-host=https://login.example/", "--native-sidecar",
            "--custom-token-endpoint-annotation-suffix=identity-binding", "--custom-token-endpoint-audience=api://AKSIdentityBinding"]), args)
        check("helm knobs reach the pod and the configuration", pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
              and hook["timeoutSeconds"] == 5 and hook["namespaceSelector"] == {"matchLabels": {"wif": "on"}}
              and one(docs, "PodDisruptionBudget")["spec"] == {"maxUnavailable": 1, "selector": deploy["spec"]["selector"]}
              and {"name": "EXTRA", "value": "1"} in container["env"]
              and one(docs, "ConfigMap")["data"]["AZURE_KUBERNETES_CA_CONFIGMAP_NAME"] == "kube-root-ca.crt")
        data = one(docs, "ConfigMap")["data"]
        check("helm proxyImage/proxyInitImage reach the webhook as PROXY_IMAGE/PROXY_INIT_IMAGE",
              (data.get("PROXY_IMAGE"), data.get("PROXY_INIT_IMAGE")) == (KNOBS["proxyImage"], KNOBS["proxyInitImage"]), data)

off = one(render_chart({"azureTenantID": TENANT, "strandedPods": {"enabled": False}}), "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
check("helm strandedPods.enabled=false turns the reconciler off", "--stranded-pods=false" in off and not [a for a in off if a.startswith("--heal=")], off)
kept = one(render_chart({"azureTenantID": TENANT, "failurePolicy": "Ignore", "strandedPods": {"heal": "none"}}), "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
check("helm strandedPods.heal=none keeps failurePolicy Ignore report-only", "--heal=none" in kept, kept)

try:
    render_chart({})
    check("helm chart refuses to render without azureTenantID", False)
except Exception as error:  # noqa: BLE001 - Helm's render error is the finding
    check("helm chart refuses to render without azureTenantID", "azureTenantID is required" in str(error), error)

print(f"check_deploy: {failures} failed")
sys.exit(1 if failures else 0)
