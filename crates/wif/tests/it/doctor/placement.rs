//! `wif doctor` names the object that carries a wrong value, and the workload it breaks.

use super::super::*;
use super::doctor;

#[test]
fn a_bad_token_expiration_on_the_service_account_is_reported_on_it_naming_the_workload() {
    let helm = std::fs::read_to_string(fixture("doctor/helm-output.yaml"))
        .unwrap()
        .replace(
            "  name: api\n  namespace: payments\nspec:",
            "  name: api-server\n  namespace: payments\nspec:",
        )
        .replace(
            "    azure.workload.identity/tenant-id: \"aaaaaaaa-0000-4000-8000-00000000000a\"\n",
            "    azure.workload.identity/tenant-id: \"aaaaaaaa-0000-4000-8000-00000000000a\"\n    azure.workload.identity/service-account-token-expiration: \"100\"\n",
        );
    let out = doctor(&["-f", "-"], helm.as_bytes());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "error token-expiration: ServiceAccount payments/api-sa [standard input, document 1]\n  \
what: the webhook refuses the pods of Deployment payments/api-server: token expiration 100 not valid. Expected value to be between 3600 and 86400; the value comes from annotation azure.workload.identity/service-account-token-expiration: \"100\" of this ServiceAccount, as the pod template sets none\n  \
why:  The webhook reads the token expiration from the pod's annotation, else the ServiceAccount's, and refuses one outside 3600..86400 seconds (or not a number): the pod is not created.\n  \
fix:  set the annotation azure.workload.identity/service-account-token-expiration of ServiceAccount payments/api-sa (metadata.annotations) to a number of seconds from 3600 to 86400, or remove it (the default, 3600, applies)\n\n\
1 error(s), 0 warning(s) in what was checked; not checked:\n  \
federated identity credentials, whether Entra ID accepts each workload's token (fic-* rules): pass --federated-credentials FILE (the emulator's directory) or CLIENT_ID=FILE (az identity federated-credential list -o json)\n  \
the issuer's discovery document and keys, which Entra ID fetches (issuer-* rules): pass --check-issuer, with --issuer-url URL or --token FILE\n  \
whether the API server calls the webhook for these pods (webhook-* rules): pass --cluster, or the MutatingWebhookConfiguration with the manifests\n"
    );
}
