// Node @azure/identity and @azure/keyvault-secrets as an app configured for Azure's public
// cloud: run by scripts/interop_azure_names.py with exactly `wif up --production-names`'s
// variables (NODE_PATH at the npm install, the loopback guard loaded). Nothing is set in code:
// DefaultAzureCredential with its defaults, SecretClient on https://VAULT.vault.azure.net.
// argv: VAULT_URL NAME. Prints one JSON line: {"value":..} or {"status":..,"code":..}.
const { DefaultAzureCredential } = require("@azure/identity");
const { SecretClient } = require("@azure/keyvault-secrets");

async function main() {
  const [vaultUrl, name] = process.argv.slice(2);
  // One try: a refusal shows as it came.
  const client = new SecretClient(vaultUrl, new DefaultAzureCredential(), { retryOptions: { maxRetries: 0 } });
  try {
    const secret = await client.getSecret(name);
    return { value: secret.value };
  } catch (error) {
    if (error.statusCode) return { status: error.statusCode, code: error.code, message: String(error.message).slice(0, 600) };
    return { failed: error.name, message: String(error.message).slice(0, 800) };
  }
}

main().then((line) => console.log(JSON.stringify(line)));
