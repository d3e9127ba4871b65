// Command azidentity-client runs the Azure SDK for Go's credentials the way the seed
// tutorials write them, against wif's emulator: test infrastructure only, never shipped.
//
//	azidentity-client workload SCOPE TENANT:CLIENT [TENANT:CLIENT ...]
//	    NewWorkloadIdentityCredential per pair (client id, tenant id and authority host chosen
//	    at run time, DisableInstanceDiscovery), all from AZURE_FEDERATED_TOKEN_FILE.
//	azidentity-client default SCOPE
//	    NewDefaultAzureCredential with the environment as it is (the webhook's variables).
//	azidentity-client secret VAULT_URL NAME
//	    azsecrets' Client (challenge verification on) with a WorkloadIdentityCredential from
//	    the environment, through HTTPS_PROXY (the emulator's CONNECT proxy for vault hosts):
//	    prints {"value":..} or {"status":..,"error_code":..,"text":..}.
//	azidentity-client managed SCOPE
//	    NewManagedIdentityCredential (AZURE_CLIENT_ID as its client id when set) from IMDS at
//	    169.254.169.254, as an application written for a VM does (behind wif's proxy in a pod).
//	azidentity-client app SCOPE VAULT_URL NAME TENANT:CLIENT [TENANT:CLIENT ...]
//	    what an application in a pod does (seeds 000 and 002): "workload" for each pair, then
//	    the secret with the pod's own identity, printed as seed 002's sample app prints it:
//	    "successfully got secret, secret=VALUE".
//	azidentity-client production SCOPE VAULT_URL NAME
//	    an app with its production settings under `wif up --production-names`: the default
//	    cloud, NewDefaultAzureCredential from the environment with instance discovery left on,
//	    every request through HTTPS_PROXY; a token for SCOPE, then the secret as "secret" does.
//	azidentity-client blobs READ_ACCOUNT_URL WRITE_ACCOUNT_URL TENANT_R:READER TENANT_W:WRITER
//	    seed 000's blobs with azblob's Client and a WorkloadIdentityCredential per pair, through
//	    HTTPS_PROXY (the emulator's CONNECT front for blob hosts): the reader downloads
//	    input/report.csv from the read account and is refused an upload of input/denied.txt; the
//	    writer creates container output in the write account (already there is fine) and uploads
//	    output/result.csv; the writer's credential is refused input/report.csv at the read
//	    account. One JSON line per step: {"step":"read","bytes":..,"sha256":..},
//	    {"step":"reader-write","status":..,"error_code":..}, {"step":"write","status":..},
//	    {"step":"writer-at-reader","status":..,"error_code":..}. A refusal is printed, not an
//	    error; a step expected to be refused that succeeds is printed, then fails the run.
//
// Prints one JSON line per token: {"tenant":..,"client":..,"token":..}. Every connection goes
// through a dialer that refuses anything but loopback, so a credential that falls back to
// IMDS (169.254.169.254) fails loudly instead of leaving the machine. In a pod on the test's
// node, AZIDENTITY_CLIENT_ALLOW_NETWORK names the private networks the test made (CIDRs, comma
// separated) that it may reach besides.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// allowed reports whether ip is loopback or in one of AZIDENTITY_CLIENT_ALLOW_NETWORK's CIDRs.
func allowed(ip net.IP) bool {
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	for _, cidr := range strings.Split(os.Getenv("AZIDENTITY_CLIENT_ALLOW_NETWORK"), ",") {
		_, network, err := net.ParseCIDR(strings.TrimSpace(cidr))
		if err == nil && network.Contains(ip) {
			return true
		}
	}
	return false
}

func loopbackOnly(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host)
	if !allowed(ip) {
		fmt.Fprintf(os.Stderr, "loopback guard: refused a connection to %s\n", address)
		return nil, fmt.Errorf("loopback guard: %s is not a loopback address", address)
	}
	var dialer net.Dialer
	return dialer.DialContext(ctx, network, address)
}

func guardedClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = loopbackOnly
	transport.Proxy = nil
	return &http.Client{Transport: transport, Timeout: 30 * time.Second}
}

// proxiedClient is guardedClient honouring HTTPS_PROXY / NO_PROXY: the proxy it dials must
// be on loopback too.
func proxiedClient() *http.Client {
	client := guardedClient()
	client.Transport.(*http.Transport).Proxy = http.ProxyFromEnvironment
	return client
}

func readSecret(vault, name string) error {
	value, refusal, err := getSecret(vault, name)
	if err != nil {
		return err
	}
	answer := refusal
	if answer == nil {
		answer = map[string]any{"value": value}
	}
	line, _ := json.Marshal(answer)
	fmt.Println(string(line))
	return nil
}

// getSecret reads a secret with the environment's WorkloadIdentityCredential: its value, or
// the service's refusal (status, error code, text).
func getSecret(vault, name string) (string, map[string]any, error) {
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions:            options(),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		return "", nil, err
	}
	clientOptions := options()
	clientOptions.Transport = proxiedClient()
	client, err := azsecrets.NewClient(vault, cred, &azsecrets.ClientOptions{ClientOptions: clientOptions})
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secret, err := client.GetSecret(ctx, name, "", nil)
	var refused *azcore.ResponseError
	switch {
	case errors.As(err, &refused):
		return "", map[string]any{"status": refused.StatusCode, "error_code": refused.ErrorCode, "text": refused.Error()}, nil
	case err != nil:
		return "", nil, err
	case secret.Value == nil:
		return "", nil, fmt.Errorf("the secret has no value")
	}
	return *secret.Value, nil, nil
}

// workloadCredential is a WorkloadIdentityCredential for a TENANT:CLIENT pair chosen at run
// time, from AZURE_FEDERATED_TOKEN_FILE.
func workloadCredential(pair string) (tenant, client string, cred *azidentity.WorkloadIdentityCredential, err error) {
	tenant, client, ok := strings.Cut(pair, ":")
	if !ok {
		return "", "", nil, fmt.Errorf("%q is not TENANT:CLIENT", pair)
	}
	cred, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions:            options(),
		ClientID:                 client,
		TenantID:                 tenant,
		TokenFilePath:            os.Getenv("AZURE_FEDERATED_TOKEN_FILE"),
		DisableInstanceDiscovery: true,
	})
	return tenant, client, cred, err
}

// workload emits a token for scope for each TENANT:CLIENT pair, from the one token file.
func workload(scope string, pairs []string) error {
	for _, pair := range pairs {
		tenant, client, cred, err := workloadCredential(pair)
		if err != nil {
			return err
		}
		if err := emit(tenant, client, cred, scope); err != nil {
			return fmt.Errorf("tenant %s, client %s: %w", tenant, client, err)
		}
	}
	return nil
}

// blobClient is azblob's Client for accountURL with cred, through HTTPS_PROXY.
func blobClient(accountURL string, cred azcore.TokenCredential) (*azblob.Client, error) {
	clientOptions := options()
	clientOptions.Transport = proxiedClient()
	return azblob.NewClient(accountURL, cred, &azblob.ClientOptions{ClientOptions: clientOptions})
}

// readLine and statusLine are the JSON lines of blobs' steps, fields in this order.
type readLine struct {
	Step   string `json:"step"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
}

type statusLine struct {
	Step      string `json:"step"`
	Status    int    `json:"status"`
	ErrorCode string `json:"error_code,omitempty"`
}

// printLine prints one JSON line.
func printLine(fields any) {
	line, _ := json.Marshal(fields)
	fmt.Println(string(line))
}

// refusal is err's status and error code when the service answered it, else nil.
func refusal(step string, err error) *statusLine {
	var refused *azcore.ResponseError
	if !errors.As(err, &refused) {
		return nil
	}
	return &statusLine{Step: step, Status: refused.StatusCode, ErrorCode: refused.ErrorCode}
}

// download reads container/name whole: its bytes, the service's answer, or an error.
func download(ctx context.Context, client *azblob.Client, container, name string) ([]byte, error) {
	response, err := client.DownloadStream(ctx, container, name, nil)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	return io.ReadAll(response.Body)
}

// expectRefusal prints step's refusal (err answered by the service); an error not answered by
// the service is returned, and so is a success, after printing it with status.
func expectRefusal(step string, status int, err error) error {
	if err == nil {
		printLine(statusLine{Step: step, Status: status})
		return fmt.Errorf("%s: expected a refusal, the service answered %d", step, status)
	}
	answer := refusal(step, err)
	if answer == nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	printLine(answer)
	return nil
}

// blobs is seed 000's storage steps: the reader of tenant R reads R's account and may not
// write it, the writer of tenant W writes W's account and may not read R's.
func blobs(readURL, writeURL, readerPair, writerPair string) error {
	_, _, readerCred, err := workloadCredential(readerPair)
	if err != nil {
		return err
	}
	_, _, writerCred, err := workloadCredential(writerPair)
	if err != nil {
		return err
	}
	reader, err := blobClient(readURL, readerCred)
	if err != nil {
		return err
	}
	writer, err := blobClient(writeURL, writerCred)
	if err != nil {
		return err
	}
	writerAtReader, err := blobClient(readURL, writerCred)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// 1. The reader reads input/report.csv.
	data, err := download(ctx, reader, "input", "report.csv")
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	sum := sha256.Sum256(data)
	printLine(readLine{Step: "read", Bytes: len(data), SHA256: hex.EncodeToString(sum[:])})

	// 2. The reader may not write.
	var response *http.Response
	_, err = reader.UploadBuffer(policy.WithCaptureResponse(ctx, &response), "input", "denied.txt", []byte("the reader may not write\n"), nil)
	var status int
	if response != nil {
		status = response.StatusCode
	}
	var failures []error
	if err := expectRefusal("reader-write", status, err); err != nil {
		failures = append(failures, err)
	}

	// 3. The writer of the other tenant writes its own account.
	if _, err := writer.CreateContainer(ctx, "output", nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("write: creating container output: %w", err)
	}
	response = nil
	if _, err := writer.UploadBuffer(policy.WithCaptureResponse(ctx, &response), "output", "result.csv", []byte("id,total\n1,42\n"), nil); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if response == nil {
		return fmt.Errorf("write: no response captured")
	}
	printLine(statusLine{Step: "write", Status: response.StatusCode})

	// 4. The writer's credential may not read the reader's account (another tenant).
	response = nil
	_, err = download(policy.WithCaptureResponse(ctx, &response), writerAtReader, "input", "report.csv")
	status = 0
	if response != nil {
		status = response.StatusCode
	}
	if err := expectRefusal("writer-at-reader", status, err); err != nil {
		failures = append(failures, err)
	}
	return errors.Join(failures...)
}

func options() azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: os.Getenv("AZURE_AUTHORITY_HOST")},
		Transport: guardedClient(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

func emit(tenant, client string, cred azcore.TokenCredential, scope string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	token, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]string{"tenant": tenant, "client": client, "token": token.Token})
	fmt.Println(string(line))
	return nil
}

// production is what an application configured for Azure's public cloud does: nothing but the
// transport (the loopback guard, honouring HTTPS_PROXY) and no retries are set.
func production(scope, vault, name string) error {
	clientOptions := azcore.ClientOptions{Transport: proxiedClient(), Retry: policy.RetryOptions{MaxRetries: -1}}
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: clientOptions})
	if err != nil {
		return err
	}
	if err := emit(os.Getenv("AZURE_TENANT_ID"), os.Getenv("AZURE_CLIENT_ID"), cred, scope); err != nil {
		return err
	}
	client, err := azsecrets.NewClient(vault, cred, &azsecrets.ClientOptions{ClientOptions: clientOptions})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secret, err := client.GetSecret(ctx, name, "", nil)
	var refused *azcore.ResponseError
	answer := map[string]any{}
	switch {
	case errors.As(err, &refused):
		answer = map[string]any{"status": refused.StatusCode, "error_code": refused.ErrorCode}
	case err != nil:
		return err
	case secret.Value == nil:
		return fmt.Errorf("the secret has no value")
	default:
		answer["value"] = *secret.Value
	}
	line, _ := json.Marshal(answer)
	fmt.Println(string(line))
	return nil
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: azidentity-client workload SCOPE TENANT:CLIENT... | default SCOPE | secret VAULT_URL NAME | production SCOPE VAULT_URL NAME | managed SCOPE | app SCOPE VAULT_URL NAME TENANT:CLIENT... | blobs READ_ACCOUNT_URL WRITE_ACCOUNT_URL TENANT_R:READER TENANT_W:WRITER")
	}
	mode, scope := args[0], args[1]
	switch mode {
	case "secret":
		if len(args) != 3 {
			return fmt.Errorf("secret needs VAULT_URL NAME")
		}
		return readSecret(args[1], args[2])
	case "blobs":
		if len(args) != 5 {
			return fmt.Errorf("blobs needs READ_ACCOUNT_URL WRITE_ACCOUNT_URL TENANT_R:READER TENANT_W:WRITER")
		}
		return blobs(args[1], args[2], args[3], args[4])
	case "workload":
		if len(args) < 3 {
			return fmt.Errorf("workload needs at least one TENANT:CLIENT")
		}
		return workload(scope, args[2:])
	case "production":
		if len(args) != 4 {
			return fmt.Errorf("production needs SCOPE VAULT_URL NAME")
		}
		return production(scope, args[2], args[3])
	case "managed":
		options := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: options()}
		if id := os.Getenv("AZURE_CLIENT_ID"); id != "" {
			options.ID = azidentity.ClientID(id)
		}
		cred, err := azidentity.NewManagedIdentityCredential(options)
		if err != nil {
			return err
		}
		return emit(os.Getenv("AZURE_TENANT_ID"), os.Getenv("AZURE_CLIENT_ID"), cred, scope)
	case "app":
		if len(args) < 5 {
			return fmt.Errorf("app needs SCOPE VAULT_URL NAME and at least one TENANT:CLIENT")
		}
		if err := workload(scope, args[4:]); err != nil {
			return err
		}
		value, refusal, err := getSecret(args[2], args[3])
		if err != nil {
			return err
		}
		if refusal != nil {
			return fmt.Errorf("the vault refused: %v", refusal)
		}
		fmt.Printf("successfully got secret, secret=%s\n", value)
	case "default":
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions:            options(),
			DisableInstanceDiscovery: true,
		})
		if err != nil {
			return err
		}
		return emit(os.Getenv("AZURE_TENANT_ID"), os.Getenv("AZURE_CLIENT_ID"), cred, scope)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "azidentity-client:", err)
		os.Exit(1)
	}
}
