// A stand-in for monis.app/mlog, which the Go module proxy here does not serve (its host is
// not on the allowlist): the API azure-workload-identity v1.6.0's webhook and proxy call,
// written from those calls over log/slog. Logging only: no decision of upstream's reads it,
// except Enabled, whose level order (warning < info < debug < trace < all) sets the proxy
// sidecar's --log-level, as mlog's does.
module monis.app/mlog

go 1.22

require github.com/go-logr/logr v1.4.3
