// Loaded by the Node client tests (node --require): a connection to anything but loopback
// (169.254.169.254 above all) is refused before it is made and written to $LOOPBACK_GUARD_LOG.
const fs = require("fs");
const net = require("net");
const original = net.Socket.prototype.connect;
function loopback(host) {
  if (host === undefined || host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  if (net.isIPv6(host)) return host === "::1";
  return false;
}
net.Socket.prototype.connect = function (...args) {
  const options = typeof args[0] === "object" && args[0] !== null ? (Array.isArray(args[0]) ? args[0][0] : args[0]) : { port: args[0], host: args[1] };
  if (options && options.path === undefined && !loopback(options.host)) {
    if (process.env.LOOPBACK_GUARD_LOG) fs.appendFileSync(process.env.LOOPBACK_GUARD_LOG, `${process.pid} ${options.host}:${options.port}\n`);
    throw new Error(`loopback guard: refused a connection to ${options.host}:${options.port}`);
  }
  return original.apply(this, args);
};
