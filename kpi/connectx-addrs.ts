// The address lists of connectx (connectx.2: "this buffer may hold more than one addresses, where
// each successive address immediately follows the previous one"): copy-in and validation as XNU's
// getsockaddrlist (bsd/kern/uipc_syscalls.c, xnu-2422), and the INET domain's choice of one source
// and one destination (bsd/netinet/in.c in_selectaddrs).
//
// connectx (connectx.ts) → parseSockaddrList (source, destination) → selectAddr (socket's family)

import type { Result } from '../stack/index.js';
import {
  AF_INET, AF_UNSPEC, EAFNOSUPPORT, EFAULT, EINVAL, SOCK_DGRAM, SOCKADDR_IN6_LEN, SOCKADDR_IN_LEN, AF_INET6,
  err, ok,
} from '../stack/index.js';
import { SOCKADDRLIST_MAX_ENTRIES } from './assoc.js';

/** sizeof(struct sockaddr): every entry needs at least this many bytes left in the buffer. */
const SOCKADDR_LEN = 16;
/** offsetof(struct sockaddr, sa_data): the smallest sa_len. */
const SA_DATA_OFF = 2;
/** sizeof(struct sockaddr_storage): a larger sa_len is ENAMETOOLONG in XNU, EINVAL here (connectx.2). */
const SOCKADDR_STORAGE_LEN = 128;

/**
 * Splits `buf[0, len)` into sockaddrs by their sa_len bytes (getsockaddrlist), at most
 * SOCKADDRLIST_MAX_ENTRIES (the rest is ignored, as XNU stops there). Errors:
 *   EFAULT  `len` is larger than the buffer (the area lies outside the caller's memory);
 *   EINVAL  `len` is 0; fewer than sizeof(struct sockaddr) (16) bytes left for an entry; an sa_len
 *           below 2, beyond the bytes left, or above sizeof(sockaddr_storage) (XNU: ENAMETOOLONG;
 *           connectx.2 lists only EINVAL for a bad length).
 * For a stream socket, AF_UNSPEC with sa_len 16 is read as AF_INET (getsockaddr's translation for
 * old binaries); datagram sockets keep AF_UNSPEC. Each entry is a copy.
 */
export function parseSockaddrList(buf: Uint8Array, len: number, soType: number): Result<Uint8Array[], number> {
  if (!Number.isSafeInteger(len) || len < 0) return err(EINVAL);
  if (len > buf.length) return err(EFAULT);
  if (len === 0) return err(EINVAL);
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < len && out.length < SOCKADDRLIST_MAX_ENTRIES) {
    const left = len - off;
    if (left < SOCKADDR_LEN) return err(EINVAL);
    const saLen = buf[off]!;
    if (saLen > left || saLen < SA_DATA_OFF || saLen > SOCKADDR_STORAGE_LEN) return err(EINVAL);
    const sa = buf.slice(off, off + saLen);
    if (soType !== SOCK_DGRAM && sa[1] === AF_UNSPEC && saLen === SOCKADDR_IN_LEN) sa[1] = AF_INET;
    out.push(sa);
    off += saLen;
  }
  return ok(out);
}

/**
 * in_selectaddrs for one list: the first address of the socket's family (`af`). When none has it:
 * EAFNOSUPPORT if the list holds addresses of another Internet family ("addresses in the specified
 * address family cannot be used with this socket"), else EINVAL ("the specified address family is
 * invalid"). XNU answers EINVAL for a destination list without a usable entry and silently skips
 * the bind for such a source list; connectx.2 asks for a bind and lists EAFNOSUPPORT, so we follow it.
 */
export function selectAddr(list: readonly Uint8Array[], af: number): Result<Uint8Array, number> {
  let otherInet = false;
  for (const sa of list) {
    const fam = sa[1]!;
    if (fam === af) return ok(sa);
    if ((fam === AF_INET && sa[0] === SOCKADDR_IN_LEN) || (fam === AF_INET6 && sa[0] === SOCKADDR_IN6_LEN)) otherInet = true;
  }
  return err(otherInet ? EAFNOSUPPORT : EINVAL);
}

/** Concatenates sockaddrs into one connectx address buffer (a helper for callers and tests). */
export function sockaddrList(...addrs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(addrs.reduce((s, a) => s + a.length, 0));
  let off = 0;
  for (const a of addrs) {
    out.set(a, off);
    off += a.length;
  }
  return out;
}
