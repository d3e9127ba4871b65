//! Which endpoint a request path names. Upstream's routing is kept where apps depend on it:
//! the token path is a prefix match (a trailing slash or anything after still matches) whose
//! first segment is case-insensitive (`/Metadata/identity/oauth2/token`), the rest
//! case-sensitive; `/readyz` is a prefix too. The App Service endpoint (`/msi/token`) and the
//! health and metrics endpoints are ours. Pure: a path in, a route out.

/// The path apps on App Service's protocol are given as `IDENTITY_ENDPOINT`.
pub const APP_SERVICE_PATH: &str = "/msi/token";
/// IMDS's token path.
pub const IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";

/// An endpoint of the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// IMDS's token endpoint.
    ImdsToken,
    /// App Service's token endpoint (`IDENTITY_ENDPOINT`).
    AppServiceToken,
    /// Readiness (upstream's postStart probe asks it).
    Readyz,
    /// Liveness.
    Healthz,
    /// Prometheus metrics.
    Metrics,
    /// Any other IMDS path (instance metadata, attested data...): passed through when asked.
    OtherImds,
}

impl Route {
    /// The route of `path` (without the query). Runs of slashes count as one, as upstream's
    /// router cleans a path before matching it (it answers `301` to the clean one): MSAL4J asks
    /// `//metadata/identity/oauth2/token` of `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    pub fn of(path: &str) -> Route {
        let cleaned;
        let path = if path.contains("//") {
            cleaned = collapse_slashes(path);
            cleaned.as_str()
        } else {
            path
        };
        let (first, rest) = match path.strip_prefix('/').map(|p| p.split_once('/')) {
            Some(Some((first, rest))) => (first, rest),
            _ => ("", ""),
        };
        if first.eq_ignore_ascii_case("metadata") && rest.starts_with("identity/oauth2/token") {
            return Route::ImdsToken;
        }
        if path.starts_with("/readyz") {
            return Route::Readyz;
        }
        match path.trim_end_matches('/') {
            APP_SERVICE_PATH => Route::AppServiceToken,
            "/healthz" => Route::Healthz,
            "/metrics" => Route::Metrics,
            _ => Route::OtherImds,
        }
    }

    /// The label of this route in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Route::ImdsToken => "imds_token",
            Route::AppServiceToken => "app_service_token",
            Route::Readyz => "readyz",
            Route::Healthz => "healthz",
            Route::Metrics => "metrics",
            Route::OtherImds => "other",
        }
    }
}

/// Whether `path` (without the query) is one no client or server would rewrite: no `.` or `..`
/// segment, no encoded dot, slash or backslash, no backslash. The passthrough forwards only
/// such a path: the HTTP client it forwards with removes dot segments, so
/// `/x/../metadata/identity/oauth2/token` (routed as another IMDS path) would reach IMDS's
/// token endpoint and bring the node's identity to the pod.
///
/// ```
/// assert!(wif_proxy::route::is_clean_path("/metadata/instance"));
/// assert!(!wif_proxy::route::is_clean_path("/x/../metadata/identity/oauth2/token"));
/// ```
pub fn is_clean_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    !path.contains('\\')
        && !["%2e", "%2f", "%5c"].iter().any(|encoded| lower.contains(encoded))
        && !path.split('/').any(|segment| segment == "." || segment == "..")
}

/// `path` with each run of slashes made one.
fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_path_matching() {
        // spec/upstream-azwi.md section 5.3: these reach the token handler...
        for path in [
            "/metadata/identity/oauth2/token",
            "/metadata/identity/oauth2/token/",
            "/Metadata/identity/oauth2/token",
            "/METADATA/identity/oauth2/token",
            "/metadata/identity/oauth2/tokenextra",
            // Not clean: upstream's router redirects these to the clean path; we serve it.
            "//metadata/identity/oauth2/token",
            "/metadata//identity/oauth2///token",
        ] {
            assert_eq!(Route::of(path), Route::ImdsToken, "{path}");
        }
        // ...and these do not (upstream passes them through).
        for path in [
            "/metadata/Identity/oauth2/token",
            "/metadata/instance",
            "/Metadata/instance",
            "/Metadata/instance/",
            "/metadata/",
            "/",
            "",
            "metadata/identity/oauth2/token",
            "/x/metadata/identity/oauth2/token",
        ] {
            assert_eq!(Route::of(path), Route::OtherImds, "{path}");
        }
        assert_eq!(Route::of("/readyz"), Route::Readyz);
        assert_eq!(Route::of("/readyz/"), Route::Readyz);
        assert_eq!(Route::of("/msi/token"), Route::AppServiceToken);
        assert_eq!(Route::of("/msi/token/"), Route::AppServiceToken);
        assert_eq!(Route::of("//msi//token"), Route::AppServiceToken);
        assert_eq!(Route::of("/MSI/token"), Route::OtherImds);
        assert_eq!(Route::of("/healthz"), Route::Healthz);
        assert_eq!(Route::of("/metrics"), Route::Metrics);
    }

    #[test]
    fn only_clean_paths_are_forwarded() {
        for clean in [
            "/metadata/instance",
            "/metadata/instance/compute?api-version=2021-02-01",
            "/",
            "//metadata/x",
        ] {
            assert!(is_clean_path(clean), "{clean}");
        }
        for dirty in [
            "/x/../metadata/identity/oauth2/token",
            "/metadata/identity/%2e/oauth2/token",
            "/metadata/identity/%2E%2E/x",
            "/metadata%2fidentity/oauth2/token",
            "/metadata/./identity",
            "/metadata/..",
            "/metadata\\identity",
            "/metadata/%5cidentity",
        ] {
            assert!(!is_clean_path(dirty), "{dirty}");
        }
    }
}
