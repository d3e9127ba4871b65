// Node @azure/identity's ManagedIdentityCredential against the wif proxy: run by
// scripts/interop_proxy.py with NODE_PATH at the npm install and the loopback guard loaded.
// The endpoint comes from the environment the caller set (AZURE_POD_IDENTITY_AUTHORITY_HOST, or
// IDENTITY_ENDPOINT + IDENTITY_HEADER); argv: scope [client id]. Prints one JSON line.
const { ManagedIdentityCredential } = require("@azure/identity");

async function main() {
  const [scope, clientId] = process.argv.slice(2);
  const credential = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  try {
    const token = await credential.getToken(scope);
    console.log(JSON.stringify({ ok: true, token: token.token, expiresOnTimestamp: token.expiresOnTimestamp }));
  } catch (error) {
    console.log(JSON.stringify({ ok: false, name: error.name, message: String(error.message) }));
  }
}
main();
