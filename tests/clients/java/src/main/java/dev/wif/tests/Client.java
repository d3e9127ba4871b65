package dev.wif.tests;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.azure.core.exception.ClientAuthenticationException;
import com.azure.core.exception.HttpResponseException;
import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpRequest;
import com.azure.core.util.BinaryData;
import com.azure.core.util.Configuration;
import com.azure.core.util.Context;
import com.azure.core.util.HttpClientOptions;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.identity.ManagedIdentityCredentialBuilder;
import com.azure.identity.WorkloadIdentityCredentialBuilder;
import com.azure.json.JsonProviders;
import com.azure.json.JsonReader;
import com.azure.json.JsonWriter;
import com.azure.security.keyvault.secrets.SecretClient;
import com.azure.security.keyvault.secrets.SecretClientBuilder;
import com.microsoft.aad.msal4j.ClientCredentialFactory;
import com.microsoft.aad.msal4j.ClientCredentialParameters;
import com.microsoft.aad.msal4j.ConfidentialClientApplication;
import com.microsoft.aad.msal4j.IAuthenticationResult;
import java.io.IOException;
import java.io.StringWriter;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.URI;
import java.net.URL;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Azure SDK for Java's credentials and SecretClient, and MSAL4J, run the way an application
 * writes them, against wif's emulator: test infrastructure only, never shipped.
 *
 * <pre>
 * java -Djdk.net.hosts.file=HOSTS [-Djavax.net.ssl.trustStore=..] -jar wif-java-client.jar MODE ARGS
 *   workload TENANT CLIENT TOKEN_FILE AUTHORITY SCOPE
 *       WorkloadIdentityCredentialBuilder (tenant, client, token file, authority host chosen at run
 *       time, disableInstanceDiscovery) and getTokenSync(SCOPE).
 *   default SCOPE [disable-instance-discovery]
 *       DefaultAzureCredentialBuilder().build() from the environment alone (the webhook's
 *       variables), optionally with disableInstanceDiscovery().
 *   managed SCOPE [CLIENT_ID]
 *       ManagedIdentityCredentialBuilder (a client id or not). Refused unless IDENTITY_ENDPOINT,
 *       MSI_ENDPOINT or AZURE_POD_IDENTITY_AUTHORITY_HOST names a loopback URL.
 *   reread TENANT CLIENT TOKEN_FILE AUTHORITY SCOPE1 SCOPE2 MARKER
 *       One WorkloadIdentityCredential (as workload) asked twice: getTokenSync(SCOPE1), printing
 *       {@code first token {..}} or {@code first failed CLASS: MESSAGE} (one line, causes joined
 *       by " | caused by: "); then, once the file MARKER exists (waited for, at most 120 s),
 *       getTokenSync(SCOPE2) with the same object, printed as a token mode does. Two scopes, so
 *       no token cache answers the second call: it must present the token file's assertion again.
 *   msal TENANT CLIENT TOKEN_FILE AUTHORITY SCOPE
 *       MSAL4J's ConfidentialClientApplication with createFromClientAssertion (the file read now),
 *       authority AUTHORITY/TENANT/, instanceDiscovery(false), acquireToken(ClientCredentialParameters).
 *   secret VAULT_URL NAME [disable-instance-discovery | workload TENANT CLIENT TOKEN_FILE AUTHORITY]
 *       SecretClient (challenge resource verification on) with DefaultAzureCredential (optionally
 *       without instance discovery), or the workload credential so named. azure-core reads
 *       HTTPS_PROXY / NO_PROXY from the environment only with -Djava.net.useSystemProxies=true.
 *   guard-probe
 *       Asks for login.microsoftonline.com and 169.254.169.254:80 (no proxy) through each guarded
 *       path and prints what the loopback guard refused, one JSON line: guard {"dns":..,
 *       "httpurlconnection":..,"netty":..}; exits 1 if any was not refused by the guard.
 * </pre>
 *
 * <p>Token modes print one line: {@code token {"expires_on":..,"aud":..,"tid":..,"appid":..,
 * "azp":..,"ver":..,"iss":..,"xms_mirid":..,"access_token":..}} (absent claims are null).
 * secret prints {@code secret VALUE}; a refusal by the service prints {@code status=N
 * error_code=CODE inner_error_code=CODE} and the exception on stderr and exits 3. Any other
 * failure prints the exception's class and message, and each cause's, unchanged on stderr and
 * exits 1; bad usage or a guard that cannot be installed exits 2. Every mode runs behind
 * {@link LoopbackGuard}, which also keeps DefaultAzureCredential to its in-process credentials
 * (AZURE_TOKEN_CREDENTIALS=prod unless the environment says otherwise).
 */
public final class Client {
    private Client() {}

    public static void main(String[] args) {
        try {
            LoopbackGuard.install();
        } catch (RuntimeException e) {
            System.err.println(e.getMessage());
            System.exit(2);
        }
        int status;
        try {
            status = run(args);
        } catch (Usage e) {
            System.err.println("wif-java-client: " + e.getMessage());
            status = 2;
        } catch (HttpResponseException e) {
            // A credential's failure is a ClientAuthenticationException (an HttpResponseException
            // too, with no response): that is not the service's refusal.
            boolean refused = e.getResponse() != null && !(e instanceof ClientAuthenticationException);
            if (refused) {
                System.err.println(refusal(e));
            }
            System.err.println(describe(e));
            status = refused ? 3 : 1;
        } catch (Throwable e) {
            System.err.println(describe(e));
            status = 1;
        }
        System.out.flush();
        // Netty's and MSAL's threads are not all daemons: leave now.
        System.exit(status);
    }

    static final class Usage extends Exception {
        Usage(String message) {
            super(message);
        }
    }

    static final String USAGE = "usage: workload TENANT CLIENT TOKEN_FILE AUTHORITY SCOPE | default SCOPE "
        + "[disable-instance-discovery] | managed SCOPE [CLIENT_ID] "
        + "| reread TENANT CLIENT TOKEN_FILE AUTHORITY SCOPE1 SCOPE2 MARKER | msal TENANT CLIENT TOKEN_FILE AUTHORITY SCOPE "
        + "| secret VAULT_URL NAME [disable-instance-discovery | workload TENANT CLIENT TOKEN_FILE AUTHORITY] "
        + "| guard-probe";

    static int run(String[] args) throws Exception {
        if (args.length == 0) {
            throw new Usage(USAGE);
        }
        String mode = args[0];
        switch (mode) {
            case "workload": {
                need(args, 6, 6);
                TokenCredential credential = workload(args[1], args[2], args[3], args[4]);
                printToken(credential.getTokenSync(new TokenRequestContext().addScopes(args[5])));
                return 0;
            }
            case "default": {
                need(args, 2, 3);
                DefaultAzureCredentialBuilder builder = new DefaultAzureCredentialBuilder();
                if (args.length == 3) {
                    if (!args[2].equals("disable-instance-discovery")) {
                        throw new Usage(USAGE);
                    }
                    builder.disableInstanceDiscovery();
                }
                printToken(builder.build().getTokenSync(new TokenRequestContext().addScopes(args[1])));
                return 0;
            }
            case "managed": {
                need(args, 2, 3);
                requireLoopbackManagedIdentity();
                ManagedIdentityCredentialBuilder builder = new ManagedIdentityCredentialBuilder();
                if (args.length == 3) {
                    builder.clientId(args[2]);
                }
                printToken(builder.build().getTokenSync(new TokenRequestContext().addScopes(args[1])));
                return 0;
            }
            case "reread": {
                need(args, 8, 8);
                TokenCredential credential = workload(args[1], args[2], args[3], args[4]);
                try {
                    AccessToken first = credential.getTokenSync(new TokenRequestContext().addScopes(args[5]));
                    System.out.print("first ");
                    printToken(first);
                } catch (RuntimeException e) {
                    System.out.println("first failed " + describe(e).replace("\n", " | "));
                }
                System.out.flush();
                awaitFile(Path.of(args[7]), Duration.ofSeconds(120));
                printToken(credential.getTokenSync(new TokenRequestContext().addScopes(args[6])));
                return 0;
            }
            case "msal": {
                need(args, 6, 6);
                printToken(msal(args[1], args[2], args[3], args[4], args[5]));
                return 0;
            }
            case "secret": {
                TokenCredential credential;
                if (args.length == 8 && args[3].equals("workload")) {
                    credential = workload(args[4], args[5], args[6], args[7]);
                } else if (args.length == 4 && args[3].equals("disable-instance-discovery")) {
                    credential = new DefaultAzureCredentialBuilder().disableInstanceDiscovery().build();
                } else if (args.length == 3) {
                    credential = new DefaultAzureCredentialBuilder().build();
                } else {
                    throw new Usage(USAGE);
                }
                SecretClient client = new SecretClientBuilder().vaultUrl(args[1]).credential(credential).buildClient();
                System.out.println("secret " + client.getSecret(args[2]).getValue());
                return 0;
            }
            case "guard-probe":
                need(args, 1, 1);
                return guardProbe();
            default:
                throw new Usage("unknown mode " + mode + "; " + USAGE);
        }
    }

    static void need(String[] args, int min, int max) throws Usage {
        if (args.length < min || args.length > max) {
            throw new Usage(USAGE);
        }
    }

    static TokenCredential workload(String tenant, String client, String tokenFile, String authority) {
        return new WorkloadIdentityCredentialBuilder().tenantId(tenant)
            .clientId(client)
            .tokenFilePath(tokenFile)
            .authorityHost(authority)
            .disableInstanceDiscovery()
            .build();
    }

    /** Returns once {@code marker} exists; a Usage error after {@code limit}. */
    static void awaitFile(Path marker, Duration limit) throws Usage, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!Files.exists(marker)) {
            if (System.nanoTime() > deadline) {
                throw new Usage("reread: " + marker + " did not appear within " + limit.toSeconds() + " s");
            }
            Thread.sleep(20);
        }
    }

    /** A managed-identity credential may only be used with its endpoint on loopback, set explicitly. */
    static void requireLoopbackManagedIdentity() throws Usage {
        boolean any = false;
        for (String name : List.of("IDENTITY_ENDPOINT", "MSI_ENDPOINT", "IMDS_ENDPOINT",
            "AZURE_POD_IDENTITY_AUTHORITY_HOST")) {
            String value = System.getenv(name);
            if (value == null || value.isEmpty()) {
                continue;
            }
            String host;
            try {
                host = URI.create(value).getHost();
            } catch (IllegalArgumentException e) {
                host = null;
            }
            if (!LoopbackGuard.isLoopbackHost(host)) {
                throw new Usage("managed: " + name + "=" + value + " is not on loopback; refusing");
            }
            any = true;
        }
        if (!any) {
            throw new Usage("managed: set IDENTITY_ENDPOINT (with IDENTITY_HEADER), MSI_ENDPOINT or "
                + "AZURE_POD_IDENTITY_AUTHORITY_HOST to a loopback URL; without one the SDK would ask 169.254.169.254");
        }
    }

    static AccessToken msal(String tenant, String client, String tokenFile, String authority, String scope)
        throws Exception {
        String assertion = Files.readString(Path.of(tokenFile), StandardCharsets.UTF_8);
        ConfidentialClientApplication app = ConfidentialClientApplication
            .builder(client, ClientCredentialFactory.createFromClientAssertion(assertion))
            .authority(authority.replaceAll("/+$", "") + "/" + tenant + "/")
            .instanceDiscovery(false)
            .build();
        IAuthenticationResult result = app.acquireToken(ClientCredentialParameters.builder(Set.of(scope)).build()).get();
        return new AccessToken(result.accessToken(), result.expiresOnDate().toInstant().atOffset(java.time.ZoneOffset.UTC));
    }

    static final List<String> CLAIMS = List.of("aud", "tid", "appid", "azp", "ver", "iss", "xms_mirid");

    static void printToken(AccessToken token) throws IOException {
        Map<String, Object> claims = claims(token.getToken());
        StringWriter out = new StringWriter();
        try (JsonWriter writer = JsonProviders.createWriter(out)) {
            writer.writeStartObject();
            writer.writeLongField("expires_on", token.getExpiresAt().toEpochSecond());
            for (String name : CLAIMS) {
                Object value = claims.get(name);
                if (value == null) {
                    writer.writeNullField(name);
                } else {
                    writer.writeStringField(name, value.toString());
                }
            }
            writer.writeStringField("access_token", token.getToken());
            writer.writeEndObject();
        }
        System.out.println("token " + out);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> claims(String jwt) throws IOException {
        String[] parts = jwt.split("\\.");
        if (parts.length < 2) {
            return Map.of();
        }
        byte[] payload = Base64.getUrlDecoder().decode(parts[1]);
        try (JsonReader reader = JsonProviders.createReader(payload)) {
            Object value = reader.readUntyped();
            return value instanceof Map ? (Map<String, Object>) value : Map.of();
        }
    }

    /** "status=N error_code=CODE" from the service's answer (Key Vault's {"error":{"code":..}}). */
    static String refusal(HttpResponseException e) {
        int status = e.getResponse() == null ? 0 : e.getResponse().getStatusCode();
        String body = null;
        Object value = e.getValue();
        String message = e.getMessage() == null ? "" : e.getMessage();
        if (value instanceof BinaryData) {
            body = value.toString();
        } else if (value instanceof String) {
            body = (String) value;
        } else if (message.indexOf('{') >= 0 && message.lastIndexOf('}') > message.indexOf('{')) {
            // azure-core's text: Status code 403, "{...the body as sent...}"
            body = message.substring(message.indexOf('{'), message.lastIndexOf('}') + 1);
        }
        Object code = null;
        Object inner = null;
        if (body != null) {
            try (JsonReader reader = JsonProviders.createReader(body)) {
                Object parsed = reader.readUntyped();
                Object error = parsed instanceof Map ? ((Map<?, ?>) parsed).get("error") : null;
                if (error instanceof Map) {
                    code = ((Map<?, ?>) error).get("code");
                    Object innerError = ((Map<?, ?>) error).get("innererror");
                    inner = innerError instanceof Map ? ((Map<?, ?>) innerError).get("code") : null;
                }
            } catch (IOException | RuntimeException ignored) {
                // not JSON: the codes stay unknown
            }
        }
        return "status=" + status + " error_code=" + code + " inner_error_code=" + inner;
    }

    /** The exception's class and message, and each cause's, on lines of their own. */
    static String describe(Throwable e) {
        StringBuilder text = new StringBuilder();
        List<Throwable> seen = new ArrayList<>();
        for (Throwable t = e; t != null && !seen.contains(t); t = t.getCause()) {
            seen.add(t);
            text.append(seen.size() == 1 ? "" : "\ncaused by: ").append(t.getClass().getName()).append(": ")
                .append(t.getMessage());
        }
        return text.toString();
    }

    /**
     * Each guarded path asked for what must never be reached: the name login.microsoftonline.com
     * (the JDK's resolver, reading the loopback hosts file only) and 169.254.169.254:80 without a
     * proxy (HttpURLConnection through the default ProxySelector, and azure-core's Netty client
     * through the connect guard). One line on stdout; exit 0 only if the guard refused all three.
     */
    static int guardProbe() {
        Map<String, String> refused = new LinkedHashMap<>();
        boolean allRefused = true;
        try {
            InetAddress[] addresses = InetAddress.getAllByName("login.microsoftonline.com");
            refused.put("dns", "NOT REFUSED: " + List.of(addresses));
            allRefused = false;
        } catch (UnknownHostException e) {
            refused.put("dns", describe(e).replace('\n', ' '));
        }
        HttpURLConnection connection = null;
        try {
            connection = (HttpURLConnection) new URL("http://169.254.169.254/metadata/instance?api-version=2021-02-01")
                .openConnection();
            connection.setConnectTimeout(1000);
            connection.connect();
            refused.put("httpurlconnection", "NOT REFUSED: connected");
            allRefused = false;
        } catch (IOException | RuntimeException e) {
            boolean guard = describe(e).contains("loopback guard: refused");
            refused.put("httpurlconnection", (guard ? "" : "NOT REFUSED BY THE GUARD: ") + describe(e).replace('\n', ' '));
            allRefused &= guard;
        } finally {
            if (connection != null) {
                connection.disconnect();
            }
        }
        try {
            HttpClient netty = HttpClient.createDefault(new HttpClientOptions().setConfiguration(Configuration.NONE));
            HttpRequest request = new HttpRequest(HttpMethod.GET,
                "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net")
                .setHeader("Metadata", "true");
            netty.sendSync(request, Context.NONE).close();
            refused.put("netty", "NOT REFUSED: answered");
            allRefused = false;
        } catch (RuntimeException e) {
            boolean guard = describe(e).contains("loopback guard: refused");
            refused.put("netty", (guard ? "" : "NOT REFUSED BY THE GUARD: ") + describe(e).replace('\n', ' '));
            allRefused &= guard;
        }
        StringWriter out = new StringWriter();
        try (JsonWriter writer = JsonProviders.createWriter(out)) {
            writer.writeStartObject();
            for (Map.Entry<String, String> entry : refused.entrySet()) {
                writer.writeStringField(entry.getKey(), entry.getValue());
            }
            writer.writeEndObject();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        System.out.println("guard " + out);
        return allRefused ? 0 : 1;
    }
}
