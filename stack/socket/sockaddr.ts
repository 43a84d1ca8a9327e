// Darwin socket addresses as bytes (bsd/sys/socket.h, netinet/in.h, netinet6/in6.h): sockaddr_in
// (16 bytes, sin_len 16, family 2) and sockaddr_in6 (28 bytes, family 30). The socket layer passes
// addresses around in this layout, as XNU passes `struct sockaddr *`; protocols decode them with
// the length/family checks of in_pcbbind/in_pcbladdr, and udp input writes the sender's address
// straight from packet bytes into an MT_SONAME mbuf without building an IpAddr.
//
//   sockaddr_in : 0 sin_len, 1 sin_family, 2 sin_port (BE), 4 sin_addr, 8 sin_zero[8]
//   sockaddr_in6: 0 sin6_len, 1 sin6_family, 2 sin6_port (BE), 4 sin6_flowinfo (as sent: BE),
//                 8 sin6_addr[16], 24 sin6_scope_id (host order: little-endian on every Darwin host)

import { IpAddr } from '../wire/ip-addr.js';
import type { IpFamily } from '../wire/ip-addr.js';
import type { Mbuf } from '../mbuf/mbuf.js';
import type { MbufPool } from '../mbuf/pool.js';
import { MT_SONAME } from '../mbuf/constants.js';
import type { Result } from '../result.js';
import { ok, err } from '../result.js';
import { AF_INET, AF_INET6, AF_UNSPEC, SOCKADDR_IN6_LEN, SOCKADDR_IN_LEN } from './constants.js';
import { EAFNOSUPPORT, EINVAL } from './errno.js';

export interface SockAddr {
  readonly addr: IpAddr;
  readonly port: number;
  /** sin6_flowinfo as carried in the structure (network byte order value); IPv6 only. */
  readonly flowinfo?: number;
  /** sin6_scope_id (interface index) for link-local addresses; IPv6 only. */
  readonly scopeId?: number;
}

/** sa_len of the Darwin sockaddr for an address family (4 → 16, 6 → 28). */
export const sockaddrLen = (family: IpFamily): number => (family === 4 ? SOCKADDR_IN_LEN : SOCKADDR_IN6_LEN);

/** The AF_* value of an IP family. */
export const afOf = (family: IpFamily): number => (family === 4 ? AF_INET : AF_INET6);

/** The IP family of an AF_* value, or null for anything but AF_INET/AF_INET6. */
export const familyOfAf = (af: number): IpFamily | null => (af === AF_INET ? 4 : af === AF_INET6 ? 6 : null);

/**
 * Writes `sa` in Darwin layout into `out` at `off` (a new array of the right size when `out` is
 * omitted) and returns the array. The caller guarantees room for 16 or 28 bytes.
 */
export function encodeSockaddr(sa: SockAddr, out?: Uint8Array, off = 0): Uint8Array {
  const len = sockaddrLen(sa.addr.family);
  const b = out ?? new Uint8Array(len);
  writeSockaddrRaw(b, off, sa.addr.family, sa.addr.bytes, 0, sa.port, sa.scopeId ?? 0, sa.flowinfo ?? 0);
  return b;
}

/**
 * Writes a sockaddr from raw address bytes (`addrBuf[addrOff..]`, 4 or 16 bytes) without
 * allocating: the receive path uses it on packet bytes. Returns the number of bytes written.
 */
export function writeSockaddrRaw(
  out: Uint8Array, off: number, family: IpFamily, addrBuf: Uint8Array, addrOff: number,
  port: number, scopeId = 0, flowinfo = 0,
): number {
  if (family === 4) {
    out[off] = SOCKADDR_IN_LEN;
    out[off + 1] = AF_INET;
    out[off + 2] = (port >>> 8) & 0xff;
    out[off + 3] = port & 0xff;
    for (let i = 0; i < 4; i++) out[off + 4 + i] = addrBuf[addrOff + i]!;
    for (let i = 8; i < 16; i++) out[off + i] = 0;
    return SOCKADDR_IN_LEN;
  }
  out[off] = SOCKADDR_IN6_LEN;
  out[off + 1] = AF_INET6;
  out[off + 2] = (port >>> 8) & 0xff;
  out[off + 3] = port & 0xff;
  out[off + 4] = (flowinfo >>> 24) & 0xff;
  out[off + 5] = (flowinfo >>> 16) & 0xff;
  out[off + 6] = (flowinfo >>> 8) & 0xff;
  out[off + 7] = flowinfo & 0xff;
  for (let i = 0; i < 16; i++) out[off + 8 + i] = addrBuf[addrOff + i]!;
  out[off + 24] = scopeId & 0xff;
  out[off + 25] = (scopeId >>> 8) & 0xff;
  out[off + 26] = (scopeId >>> 16) & 0xff;
  out[off + 27] = (scopeId >>> 24) & 0xff;
  return SOCKADDR_IN6_LEN;
}

/**
 * Decodes a Darwin sockaddr with XNU's checks, in XNU's order (udp_bind, in_pcbbind, in_pcbladdr):
 *   - shorter than 2 bytes, or a family byte that is no IP family: EAFNOSUPPORT for an unknown
 *     family (udp_bind), EINVAL when not even sa_len/sa_family are present;
 *   - sa_len not the size of the expected family's structure (16 / 28), or fewer bytes than
 *     sa_len: EINVAL ("sa_len != sizeof(struct sockaddr_in)");
 *   - a family other than the expected one: EAFNOSUPPORT.
 * `expectAf` is the socket's domain (AF_INET/AF_INET6); omitted, the address's own family is used.
 * Deviation: XNU's in_pcbbind does not check the family (old programs leave it 0); we require it.
 */
export function decodeSockaddr(bytes: Uint8Array, expectAf?: number): Result<SockAddr, number> {
  if (bytes.length < 2) return err(EINVAL);
  const af = bytes[1]!;
  if (af !== AF_INET && af !== AF_INET6 && af !== AF_UNSPEC) return err(EAFNOSUPPORT);
  const target = expectAf ?? af;
  const fam = familyOfAf(target);
  if (fam === null) return err(EAFNOSUPPORT);
  const need = sockaddrLen(fam);
  if (bytes[0] !== need || bytes.length < need) return err(EINVAL);
  if (af !== target) return err(EAFNOSUPPORT);
  const port = (bytes[2]! << 8) | bytes[3]!;
  if (fam === 4) return ok({ addr: IpAddr.fromBytes(bytes, 4, 4), port });
  const flowinfo = ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0;
  const scopeId = (bytes[24]! | (bytes[25]! << 8) | (bytes[26]! << 16) | (bytes[27]! << 24)) >>> 0;
  return ok({ addr: IpAddr.fromBytes(bytes, 8, 16), port, flowinfo, scopeId });
}

/** An MT_SONAME mbuf holding `sa` (how XNU's sbappendaddr stores the record's address), or null. */
export function sockaddrToMbuf(pool: MbufPool, sa: SockAddr): Mbuf | null {
  const m = pool.get(MT_SONAME);
  if (m === null) return null;
  m.len = writeSockaddrRaw(m.buf, m.data, sa.addr.family, sa.addr.bytes, 0, sa.port, sa.scopeId ?? 0, sa.flowinfo ?? 0);
  return m;
}

/** An MT_SONAME mbuf written from address bytes inside a packet (no IpAddr is built), or null. */
export function sonameFromPacket(
  pool: MbufPool, family: IpFamily, buf: Uint8Array, addrOff: number, port: number, scopeId: number,
): Mbuf | null {
  const m = pool.get(MT_SONAME);
  if (m === null) return null;
  m.len = writeSockaddrRaw(m.buf, m.data, family, buf, addrOff, port, scopeId, 0);
  return m;
}

/** "198.18.0.1:53" or "[fe80::1%2]:53" for a Darwin sockaddr (logs, netstat, test messages). */
export function formatSockaddr(bytes: Uint8Array): string {
  const r = decodeSockaddr(bytes);
  if (!r.ok) return `<sockaddr len=${bytes[0] ?? 0} family=${bytes[1] ?? 0}>`;
  const sa = r.value;
  if (sa.addr.family === 4) return `${sa.addr.toString()}:${sa.port}`;
  return `[${sa.addr.toString()}${sa.scopeId ? `%${sa.scopeId}` : ''}]:${sa.port}`;
}
