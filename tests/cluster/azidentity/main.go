// Command azidentity-client runs the Azure SDK for Go's credentials the way the seed
// tutorials write them, against wif's emulator: test infrastructure only, never shipped.
//
//	azidentity-client workload SCOPE TENANT:CLIENT [TENANT:CLIENT ...]
//	    NewWorkloadIdentityCredential per pair (client id, tenant id and authority host chosen
//	    at run time, DisableInstanceDiscovery), all from AZURE_FEDERATED_TOKEN_FILE.
//	azidentity-client default SCOPE
//	    NewDefaultAzureCredential with the environment as it is (the webhook's variables).
//
// Prints one JSON line per token: {"tenant":..,"client":..,"token":..}. Every connection goes
// through a dialer that refuses anything but loopback, so a credential that falls back to
// IMDS (169.254.169.254) fails loudly instead of leaving the machine.
package main

import (
	"context"
	"encoding/json"
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
)

func loopbackOnly(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
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
		return fmt.Errorf("usage: azidentity-client workload SCOPE TENANT:CLIENT... | default SCOPE")
	}
	mode, scope := args[0], args[1]
	switch mode {
	case "workload":
		if len(args) < 3 {
			return fmt.Errorf("workload needs at least one TENANT:CLIENT")
		}
		for _, pair := range args[2:] {
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
