// Darwin socket addresses as bytes for KPI callers: build and read sockaddr_in (16 bytes) and
// sockaddr_in6 (28 bytes) in the layout the KPI functions take and return (xnu-sockets.md §1.7).
// A thin layer over stack/socket/sockaddr.ts, which owns the codec and XNU's length/family checks.
//
//   sockaddr_in : 0 sin_len=16, 1 sin_family=2, 2 sin_port (BE), 4 sin_addr, 8 sin_zero[8]
//   sockaddr_in6: 0 sin6_len=28, 1 sin6_family=30, 2 sin6_port (BE), 4 sin6_flowinfo,
//                 8 sin6_addr[16], 24 sin6_scope_id (host order, little-endian)

import type { IpFamily, Result, SockAddr } from '../stack/index.js';
import {
  IpAddr, err, ok, decodeSockaddr, encodeSockaddr, formatSockaddr as formatSockaddrCore, AF_INET, AF_INET6,
  SOCKADDR_IN6_LEN, SOCKADDR_IN_LEN, EAFNOSUPPORT, EINVAL,
} from '../stack/index.js';
import { SOCKADDR_STORAGE_LEN } from './darwin-constants.js';

export type { SockAddr } from '../stack/index.js';
export { IpAddr } from '../stack/index.js';

/** The address as an IpAddr: parsed from text ("198.18.0.1", "2001:db8::1"), or as given. */
function toAddr(addr: IpAddr | string, family: IpFamily): IpAddr | null {
  const a = typeof addr === 'string' ? IpAddr.parse(addr) : addr;
  return a !== null && a.family === family ? a : null;
}

/**
 * A sockaddr_in (16 bytes: sin_len 16, AF_INET, port, address). `addr` is an IpAddr or dotted
 * text; a malformed or IPv6 address throws a TypeError (a programming error, not network input).
 */
export function sockaddrIn(addr: IpAddr | string, port: number): Uint8Array {
  const a = toAddr(addr, 4);
  if (a === null) throw new TypeError(`sockaddrIn: not an IPv4 address: ${String(addr)}`);
  return encodeSockaddr({ addr: a, port: port & 0xffff });
}

/** A sockaddr_in6 (28 bytes: sin6_len 28, AF_INET6, port, flowinfo, address, scope id). */
export function sockaddrIn6(addr: IpAddr | string, port: number, scopeId = 0, flowinfo = 0): Uint8Array {
  const a = toAddr(addr, 6);
  if (a === null) throw new TypeError(`sockaddrIn6: not an IPv6 address: ${String(addr)}`);
  return encodeSockaddr({ addr: a, port: port & 0xffff, scopeId, flowinfo });
}

/** The wildcard address of a family and a port: 0.0.0.0:port or [::]:port. */
export function sockaddrAny(family: IpFamily, port = 0): Uint8Array {
  return family === 4 ? sockaddrIn(IpAddr.ANY4, port) : sockaddrIn6(IpAddr.ANY6, port);
}

/**
 * Parses "198.18.0.1:7" or "[2001:db8::1]:7" (optionally "[fe80::1%2]:7") into sockaddr bytes;
 * null when the text is not an address and port.
 */
export function sockaddrFromString(text: string): Uint8Array | null {
  let host: string, portText: string, scope = 0;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return null;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    const pct = host.indexOf('%');
    if (pct >= 0) {
      scope = Number(host.slice(pct + 1));
      if (!Number.isInteger(scope) || scope < 0) return null;
      host = host.slice(0, pct);
    }
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return null;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535) return null;
  const a = IpAddr.parse(host);
  if (a === null) return null;
  return a.family === 4 ? sockaddrIn(a, port) : sockaddrIn6(a, port, scope);
}

/** A zeroed sockaddr_storage (128 bytes): room for any address a getter returns. */
export function sockaddrStorage(): Uint8Array {
  return new Uint8Array(SOCKADDR_STORAGE_LEN);
}

/** sa_len (byte 0), or 0 for an empty array. */
export const sockaddrLen = (sa: Uint8Array): number => sa[0] ?? 0;
/** sa_family (byte 1: Darwin's sa_family_t is one byte), or 0 for a short array. */
export const sockaddrFamily = (sa: Uint8Array): number => sa[1] ?? 0;
/** The port (bytes 2-3, network order) of a sockaddr_in/in6, or 0 for a short array. */
export const sockaddrPort = (sa: Uint8Array): number => sa.length >= 4 ? (sa[2]! << 8) | sa[3]! : 0;

/**
 * Reads a sockaddr_in/in6 with XNU's checks (the order of udp_bind/in_pcbbind): fewer than 2
 * bytes, sa_len not 16/28 for the family, or fewer bytes than sa_len: EINVAL; a family other
 * than AF_INET/AF_INET6 (or than `expectAf` when given): EAFNOSUPPORT.
 */
export function readSockaddr(sa: Uint8Array, expectAf?: number): Result<SockAddr, number> {
  if (expectAf !== undefined && expectAf !== AF_INET && expectAf !== AF_INET6) return err(EAFNOSUPPORT);
  const r = decodeSockaddr(sa, expectAf);
  if (!r.ok) return r;
  const need = r.value.addr.family === 4 ? SOCKADDR_IN_LEN : SOCKADDR_IN6_LEN;
  if (sa[0] !== need) return err(EINVAL);
  return ok(r.value);
}

/** The errno readSockaddr would give, or 0 for a well-formed address. */
export function checkSockaddr(sa: Uint8Array, expectAf?: number): number {
  const r = readSockaddr(sa, expectAf);
  return r.ok ? 0 : r.error;
}

/** "198.18.0.1:7" / "[2001:db8::1]:7" for logs and test messages. */
export function formatSockaddr(sa: Uint8Array): string {
  return formatSockaddrCore(sa);
}
