// Node @azure/identity against wif: run by scripts/interop_proxy.py and scripts/interop_up.py
// with NODE_PATH at the npm install and the loopback guard loaded. Everything else comes from
// the environment the caller set (AZURE_POD_IDENTITY_AUTHORITY_HOST, IDENTITY_ENDPOINT +
// IDENTITY_HEADER, or the workload identity variables). argv: mi|dac scope [client id].
// Prints one JSON line.
const { DefaultAzureCredential, ManagedIdentityCredential } = require("@azure/identity");

async function main() {
  const [kind, scope, clientId] = process.argv.slice(2);
  const credential =
    kind === "dac"
      ? new DefaultAzureCredential()
      : clientId
        ? new ManagedIdentityCredential({ clientId })
        : new ManagedIdentityCredential();
  try {
    const token = await credential.getToken(scope);
    console.log(JSON.stringify({ ok: true, token: token.token, expiresOnTimestamp: token.expiresOnTimestamp }));
  } catch (error) {
    console.log(JSON.stringify({ ok: false, name: error.name, message: String(error.message) }));
  }
}
main();
