// The drill runner's symbol table: the names scripts use for constants, with Darwin/BSD values
// wherever a value is observable (reference §5.1). Most come from the KPI's Darwin constants; the
// rest (fcntl, poll, BSD-only option names mapped onto XNU's) are defined here.

import * as D from '../../kpi/darwin-constants.js';
import { TCP_INFO } from '../../kpi/darwin-constants.js';

const table = new Map<string, number>();
for (const [k, v] of Object.entries(D)) if (typeof v === 'number' && /^[A-Z][A-Z0-9_]*$/.test(k)) table.set(k, v);

const extra: Record<string, number> = {
  // fcntl (bsd/sys/fcntl.h)
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_NONBLOCK: 4, O_NDELAY: 4, O_APPEND: 8,
  F_GETFD: 1, F_SETFD: 2, F_GETFL: 3, F_SETFL: 4,
  // poll (bsd/sys/poll.h)
  POLLIN: 0x1, POLLPRI: 0x2, POLLOUT: 0x4, POLLERR: 0x8, POLLHUP: 0x10, POLLNVAL: 0x20, POLLRDNORM: 0x40,
  POLLWRNORM: 0x4, POLLRDBAND: 0x80, POLLWRBAND: 0x100,
  // BSD / Linux names of XNU's TCP options (reference §5.4)
  TCP_KEEPIDLE: D.TCP_KEEPALIVE, TCP_KEEPINIT: D.TCP_CONNECTIONTIMEOUT, TCP_INFO,
  SOL_TCP: D.IPPROTO_TCP, SOL_IP: D.IPPROTO_IP, SOL_IPV6: D.IPPROTO_IPV6, SOL_UDP: D.IPPROTO_UDP,
  IPPROTO_MPTCP: 262,
  INADDR_ANY: 0,
};
for (const [k, v] of Object.entries(extra)) table.set(k, v);

/** The value of a symbolic constant, or undefined. */
export function symbolValue(name: string): number | undefined {
  return table.get(name);
}

const errnoNames = new Map<string, number>();
const errnoByValue = new Map<number, string>();
for (const [k, v] of Object.entries(D)) {
  if (typeof v === 'number' && /^E[A-Z0-9]+$/.test(k) && v > 0 && v < 200) {
    errnoNames.set(k, v);
    if (!errnoByValue.has(v) || k === 'EAGAIN') errnoByValue.set(v, k);
  }
}
errnoByValue.set(35, 'EAGAIN');

/** The value of an errno name (EWOULDBLOCK == EAGAIN). */
export function errnoValue(name: string): number | undefined {
  return errnoNames.get(name);
}

/** The name of an errno value (EAGAIN for 35). */
export function errnoName(v: number): string {
  return errnoByValue.get(v) ?? `errno ${v}`;
}

/** BSD TCP state numbering (reference §9) under the names scripts use. */
export const TCP_STATES: Readonly<Record<string, number>> = {
  CLOSED: 0, LISTEN: 1, SYN_SENT: 2, SYN_RECEIVED: 3, SYN_RCVD: 3, ESTABLISHED: 4, CLOSE_WAIT: 5, FIN_WAIT_1: 6,
  CLOSING: 7, LAST_ACK: 8, FIN_WAIT_2: 9, TIME_WAIT: 10,
};
