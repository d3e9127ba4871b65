// Node @azure/storage-blob against wif up's blob plane: run by scripts/interop_up.py with wif
// up's variables (the env file and the HTTPS_PROXY line it prints), NODE_PATH at the npm install
// and the loopback guard loaded. The client is built as an app builds it, nothing else set:
// BlobServiceClient on https://ACCOUNT.blob.storage.wif.test with DefaultAzureCredential; the
// blob host has no DNS, so only HTTPS_PROXY (the emulator's CONNECT front) reaches it, with TLS
// from the CA that NODE_EXTRA_CA_CERTS names. argv: refused|roundtrip|read ACCOUNT CONTAINER BLOB.
// Prints one JSON line.
const { DefaultAzureCredential } = require("@azure/identity");
const { BlobServiceClient } = require("@azure/storage-blob");

// What the caller writes and reads back: every byte value, so a text or encoding slip shows.
const BODY = Buffer.concat([Buffer.from("wif up, Node @azure/storage-blob\n"), Buffer.from([...Array(256).keys()])]);

function failure(stage, error) {
  const message = String(error.message).slice(0, 600);
  return { ok: false, stage, name: error.name, statusCode: error.statusCode, code: error.code, message };
}

async function names(container) {
  const out = [];
  for await (const blob of container.listBlobsFlat()) out.push({ name: blob.name, size: blob.properties.contentLength });
  return out;
}

async function main() {
  const [mode, account, containerName, blobName] = process.argv.slice(2);
  // One try: a refusal shows as it came (Storage's retries wait seconds).
  const service = new BlobServiceClient(`https://${account}.blob.storage.wif.test`, new DefaultAzureCredential(), {
    retryOptions: { maxTries: 1 },
  });
  const container = service.getContainerClient(containerName);
  const blob = container.getBlockBlobClient(blobName);
  let stage = "createIfNotExists";
  try {
    if (mode === "read") {
      stage = "download";
      const got = await blob.downloadToBuffer();
      stage = "list";
      return { ok: true, sameBytes: Buffer.compare(got, BODY) === 0, listed: await names(container) };
    }
    const made = await container.createIfNotExists();
    if (mode === "refused") {
      stage = "upload";
      try {
        await blob.upload(BODY, BODY.length);
        return { ok: false, stage, message: "the upload was not refused", containerCreated: made.succeeded };
      } catch (error) {
        return { ok: true, containerCreated: made.succeeded, refusal: failure(stage, error) };
      }
    }
    stage = "upload";
    const uploaded = await blob.upload(BODY, BODY.length, { blobHTTPHeaders: { blobContentType: "application/octet-stream" } });
    stage = "download";
    const got = await blob.downloadToBuffer();
    stage = "properties";
    const props = await blob.getProperties();
    stage = "list";
    const listed = await names(container);
    return {
      ok: true,
      containerCreated: made.succeeded,
      etag: uploaded.etag,
      sameBytes: Buffer.compare(got, BODY) === 0,
      size: got.length,
      expectedSize: BODY.length,
      contentType: props.contentType,
      blobType: props.blobType,
      listed,
    };
  } catch (error) {
    return failure(stage, error);
  }
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (error) => console.log(JSON.stringify(failure("unexpected", error))),
);
