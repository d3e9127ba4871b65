package dev.wif.tests;

import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.http.netty.NettyAsyncHttpClientBuilder;
import com.azure.core.util.Configuration;
import com.azure.core.util.Context;
import com.azure.core.util.HttpClientOptions;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.proxy.ProxyHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import reactor.core.publisher.Mono;

/**
 * Keeps this JVM on loopback without a security manager. What it covers, each refused before
 * the connect call, so no packet leaves:
 *
 * <ul>
 *   <li>Name lookups through the JDK ({@link InetAddress}): the JVM must run with
 *       {@code -Djdk.net.hosts.file=FILE} naming a file with loopback addresses only
 *       (scripts/java-client writes one); the JDK then answers from that file alone and never
 *       asks a DNS server, so any other name fails with UnknownHostException. Netty resolves
 *       through the JDK here: azure-core-http-netty sets DefaultAddressResolverGroup (or its
 *       no-op resolver behind a proxy, where the proxy resolves).
 *   <li>{@link java.net.HttpURLConnection} opened without an explicit Proxy (MSAL4J's default
 *       client, azure-identity's IMDS probe and token exchange): a default {@link ProxySelector}
 *       that throws for any URI whose host is not a loopback literal or "localhost".
 *   <li>The Azure SDK's HTTP pipeline: every {@code HttpClient} azure-core makes by default comes
 *       from {@link Provider} (selected with AZURE_HTTP_CLIENT_IMPLEMENTATION), a Netty client
 *       whose every channel carries a handler that fails the connect unless the address dialled
 *       (the proxy's, when a Netty proxy handler is in the pipeline) is loopback.
 * </ul>
 *
 * <p>DefaultAzureCredential is kept to its in-process credentials (AZURE_TOKEN_CREDENTIALS=prod
 * unless the environment names prod or one of them): its developer-tool credentials would run
 * az, azd or pwsh, processes outside this JVM.
 *
 * <p>Not covered: a raw {@link java.net.Socket} or NIO channel opened outside those clients,
 * an HttpURLConnection opened with an explicit {@link Proxy}, and java.net.http.HttpClient
 * (which consults no ProxySelector unless told to). None of the SDK code paths used here does
 * that; names still fail for them (hosts file), literal addresses would not.
 */
public final class LoopbackGuard {
    /** The system property (read by azure-core's Configuration before the environment). */
    static final String PROVIDER_PROPERTY = Configuration.PROPERTY_AZURE_HTTP_CLIENT_IMPLEMENTATION;

    static final String TOKEN_CREDENTIALS = "AZURE_TOKEN_CREDENTIALS";
    static final Set<String> IN_PROCESS_CHAINS = Set.of("prod", "environmentcredential", "workloadidentitycredential",
        "managedidentitycredential");

    private LoopbackGuard() {}

    /** Thrown (wrapped as the client needs) when a connection would leave loopback. */
    public static final class Refused extends ConnectException {
        Refused(String what) {
            super("loopback guard: refused " + what);
        }
    }

    /**
     * Installs the guard; throws IllegalStateException when it cannot be complete (no loopback
     * hosts file). Must run before any azure-core class reads its configuration.
     */
    public static void install() {
        String hostsFile = System.getProperty("jdk.net.hosts.file");
        if (hostsFile == null || hostsFile.isEmpty()) {
            throw new IllegalStateException("loopback guard: run java with -Djdk.net.hosts.file=FILE, a hosts file "
                + "naming loopback addresses only (scripts/java-client writes one beside the jar)");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of(hostsFile));
        } catch (IOException e) {
            throw new IllegalStateException("loopback guard: cannot read the hosts file " + hostsFile + ": " + e, e);
        }
        for (String line : lines) {
            String entry = line.replaceAll("#.*", "").trim();
            if (!entry.isEmpty() && !isLoopbackLiteral(entry.split("\\s+")[0])) {
                throw new IllegalStateException("loopback guard: the hosts file " + hostsFile
                    + " names a non-loopback address: " + line);
            }
        }
        // DefaultAzureCredential's developer-tool credentials run az, azd and pwsh: processes
        // this guard does not reach. "prod" keeps the chain to Environment, WorkloadIdentity
        // and ManagedIdentity (azure-core reads the system property before the environment).
        String chain = System.getenv(TOKEN_CREDENTIALS);
        if (chain == null || chain.isBlank()) {
            System.setProperty(TOKEN_CREDENTIALS, "prod");
        } else if (!IN_PROCESS_CHAINS.contains(chain.trim().toLowerCase(Locale.ROOT))) {
            throw new IllegalStateException("loopback guard: " + TOKEN_CREDENTIALS + "=" + chain + " would let "
                + "DefaultAzureCredential run developer tools (az, azd, pwsh) that the guard does not reach; "
                + "use prod or one of " + IN_PROCESS_CHAINS);
        }
        ProxySelector.setDefault(new Selector(ProxySelector.getDefault()));
        System.setProperty(PROVIDER_PROPERTY, Provider.class.getName());
        HttpClient client = HttpClient.createDefault();
        if (!(client instanceof Guarded)) {
            throw new IllegalStateException("loopback guard: azure-core's default HttpClient is "
                + client.getClass().getName() + ", not the guarded one");
        }
    }

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** Whether text is an IP literal (not a name: nothing is looked up) on loopback. */
    static boolean isLoopbackLiteral(String text) {
        String host = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        if (!IPV4.matcher(host).matches() && !host.contains(":")) {
            return false;
        }
        try {
            return InetAddress.getByName(host.split("%")[0]).isLoopbackAddress();
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether host (a URI's or an unresolved address's) is loopback without a DNS query. */
    static boolean isLoopbackHost(String host) {
        return host != null && (host.equalsIgnoreCase("localhost") || isLoopbackLiteral(host));
    }

    /** Whether a dialled address is loopback. */
    static boolean isLoopback(SocketAddress address) {
        if (!(address instanceof InetSocketAddress)) {
            return false;
        }
        InetSocketAddress inet = (InetSocketAddress) address;
        if (inet.isUnresolved()) {
            return isLoopbackHost(inet.getHostString());
        }
        return inet.getAddress().isLoopbackAddress();
    }

    /** The default ProxySelector: loopback URIs go as before, anything else is refused. */
    static final class Selector extends ProxySelector {
        private final ProxySelector previous;

        Selector(ProxySelector previous) {
            this.previous = previous;
        }

        @Override
        public List<Proxy> select(URI uri) {
            if (!isLoopbackHost(uri.getHost())) {
                System.err.println("loopback guard: refused " + uri);
                Refused refused = new Refused("a connection to " + uri + " (ProxySelector)");
                throw new UncheckedIOException(refused.getMessage(), refused);
            }
            return previous == null ? List.of(Proxy.NO_PROXY) : previous.select(uri);
        }

        @Override
        public void connectFailed(URI uri, SocketAddress address, IOException e) {
            if (previous != null) {
                previous.connectFailed(uri, address, e);
            }
        }
    }

    /**
     * Sits in every channel's pipeline and fails the connect unless what is dialled is
     * loopback: the proxy's address when a Netty ProxyHandler is present (it replaces the
     * destination with the proxy's on the way to the socket), else the destination itself.
     */
    static final class ConnectGuard extends ChannelOutboundHandlerAdapter {
        @Override
        public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            String refusal = null;
            boolean proxied = false;
            for (Map.Entry<String, io.netty.channel.ChannelHandler> entry : ctx.pipeline()) {
                if (entry.getValue() instanceof ProxyHandler) {
                    proxied = true;
                    SocketAddress proxy = ((ProxyHandler) entry.getValue()).proxyAddress();
                    if (!isLoopback(proxy)) {
                        refusal = "a connection through the proxy " + proxy + " to " + remote;
                    }
                }
            }
            if (!proxied && !isLoopback(remote)) {
                refusal = "a connection to " + remote;
            }
            if (refusal != null) {
                System.err.println("loopback guard: refused " + refusal);
                promise.setFailure(new Refused(refusal + " (Netty)"));
                ctx.close();
                return;
            }
            ctx.connect(remote, local, promise);
        }
    }

    /** A Netty HttpClient (azure-core-http-netty) with the connect guard, built as azure-core would. */
    static HttpClient netty(HttpClientOptions options) {
        reactor.netty.http.client.HttpClient base = reactor.netty.http.client.HttpClient.create()
            .doOnChannelInit((observer, channel, address) ->
                channel.pipeline().addFirst("wif-loopback-guard", new ConnectGuard()));
        NettyAsyncHttpClientBuilder builder = new NettyAsyncHttpClientBuilder(base);
        if (options != null) {
            builder = builder.proxy(options.getProxyOptions())
                .configuration(options.getConfiguration())
                .connectTimeout(options.getConnectTimeout())
                .writeTimeout(options.getWriteTimeout())
                .responseTimeout(options.getResponseTimeout())
                .readTimeout(options.getReadTimeout());
        }
        return new Guarded(builder.build());
    }

    /** The guarded client: the Netty client, marked so install() can tell it is in use. */
    static final class Guarded implements HttpClient {
        private final HttpClient inner;

        Guarded(HttpClient inner) {
            this.inner = inner;
        }

        @Override
        public Mono<HttpResponse> send(HttpRequest request) {
            return inner.send(request);
        }

        @Override
        public Mono<HttpResponse> send(HttpRequest request, Context context) {
            return inner.send(request, context);
        }

        @Override
        public HttpResponse sendSync(HttpRequest request, Context context) {
            return inner.sendSync(request, context);
        }
    }

    /** azure-core's HttpClientProvider for the guarded client (META-INF/services). */
    public static final class Provider implements com.azure.core.http.HttpClientProvider {
        @Override
        public HttpClient createInstance() {
            return netty(null);
        }

        @Override
        public HttpClient createInstance(HttpClientOptions options) {
            return netty(options);
        }
    }
}
