// One-line errors for everything that can go wrong opening a TUN device, each naming the fix.
// tun-link.ts (TunLink.open) and device-setup.ts throw TunError; the CLI prints `message` as is.

/** An error with a stable `code` (an errno name, or ENOADDON/ESETUP) and a one-line message. */
export class TunError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'TunError';
  }
}

/** Codes that mean "this machine cannot run a TUN device for us" (npm start falls back to sim). */
export const TUN_UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['ENOADDON', 'ENOENT', 'ENODEV', 'ENXIO', 'EPERM', 'EACCES', 'ENOTSUP']);

/** Turns the addon's system error from open()/TUNSETIFF into a TunError with the fix in it. */
export function describeOpenError(e: unknown, name: string): TunError {
  const err = e as { code?: string; syscall?: string; message?: string };
  const code = err.code ?? 'EUNKNOWN';
  const onDevice = err.syscall === 'open';
  switch (code) {
    case 'ENOENT': case 'ENODEV': case 'ENXIO':
      return new TunError(code, '/dev/net/tun is missing: load the tun module (modprobe tun), or run the container with --device /dev/net/tun --cap-add NET_ADMIN');
    case 'EACCES':
      return new TunError(code, 'no permission to open /dev/net/tun: run as root (sudo) or give this user access to /dev/net/tun and CAP_NET_ADMIN');
    case 'EPERM':
      return onDevice
        ? new TunError(code, 'no permission to open /dev/net/tun: run as root (sudo) or grant CAP_NET_ADMIN')
        : new TunError(code, `creating TUN device ${name} needs CAP_NET_ADMIN (EPERM on TUNSETIFF): run as root (sudo), or grant it: sudo setcap cap_net_admin+ep "$(command -v node)"`);
    case 'EBUSY':
      return new TunError(code, `TUN device name ${name} is in use by another process (EBUSY): choose another name with --tun NAME, or stop the process that holds it`);
    case 'EINVAL':
      return new TunError(code, `cannot create TUN device ${name} (EINVAL): the name is taken by a non-TUN interface or is not a valid interface name (at most 15 bytes); choose another with --tun NAME`);
    case 'ENOTSUP':
      return new TunError(code, 'TUN devices are supported on Linux only: use `tunstack sim` here');
    default:
      return new TunError(code, `cannot open TUN device ${name}: ${err.message ?? String(e)}`);
  }
}
