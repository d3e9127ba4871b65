"""Loaded by every Python process of the client tests (PYTHONPATH): a connection to anything but
loopback (169.254.169.254 above all), or a name lookup that would ask a DNS server, is refused before it is made, and written to the file
$LOOPBACK_GUARD_LOG, which the test reads: a client that tried to leave the machine fails the
test even if it recovered."""
import ipaddress, os, socket, sys

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _check(address):
    host = address[0] if isinstance(address, tuple) else None
    if host is None:  # a Unix socket
        return
    try:
        if ipaddress.ip_address(host.split("%")[0]).is_loopback:
            return
    except ValueError:
        if host == "localhost":
            return
    log = os.environ.get("LOOPBACK_GUARD_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {address!r} {' '.join(sys.argv[:3])}\n")
    raise OSError(f"loopback guard: refused a connection to {address!r}")


def connect(self, address):
    _check(address)
    return _connect(self, address)


def connect_ex(self, address):
    _check(address)
    return _connect_ex(self, address)


_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    # A name other than localhost would be a DNS query leaving the machine.
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host not in (None, "localhost"):
        try:
            ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            _check((host, args[0] if args else None))
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.getaddrinfo = getaddrinfo
