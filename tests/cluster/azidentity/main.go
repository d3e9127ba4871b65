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
//
// Prints one JSON line per token: {"tenant":..,"client":..,"token":..}. Every connection goes
// through a dialer that refuses anything but loopback, so a credential that falls back to
// IMDS (169.254.169.254) fails loudly instead of leaving the machine. In a pod on the test's
// node, AZIDENTITY_CLIENT_ALLOW_NETWORK names the private networks the test made (CIDRs, comma
// separated) that it may reach besides.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// workload emits a token for scope for each TENANT:CLIENT pair, from the one token file.
func workload(scope string, pairs []string) error {
	for _, pair := range pairs {
		tenant, client, ok := strings.Cut(pair, ":")
		if !ok {
			return fmt.Errorf("%q is not TENANT:CLIENT", pair)
		}
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions:            options(),
			ClientID:                 client,
			TenantID:                 tenant,
			TokenFilePath:            os.Getenv("AZURE_FEDERATED_TOKEN_FILE"),
			DisableInstanceDiscovery: true,
		})
		if err != nil {
			return err
		}
		if err := emit(tenant, client, cred, scope); err != nil {
			return fmt.Errorf("tenant %s, client %s: %w", tenant, client, err)
		}
	}
	return nil
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

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: azidentity-client workload SCOPE TENANT:CLIENT... | default SCOPE | secret VAULT_URL NAME | managed SCOPE | app SCOPE VAULT_URL NAME TENANT:CLIENT...")
	}
	mode, scope := args[0], args[1]
	switch mode {
	case "secret":
		if len(args) != 3 {
			return fmt.Errorf("secret needs VAULT_URL NAME")
		}
		return readSecret(args[1], args[2])
	case "workload":
		if len(args) < 3 {
			return fmt.Errorf("workload needs at least one TENANT:CLIENT")
		}
		return workload(scope, args[2:])
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
