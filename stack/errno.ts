// Darwin errno values (bsd/sys/errno.h), shared by every layer. The stack returns these numbers; kpi/ re-exports them.
// EAGAIN == EWOULDBLOCK == 35; ENOTSUP (45) and EOPNOTSUPP (102) are different in the kernel.

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const EBADF = 9;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOTTY = 25;
export const EPIPE = 32;
export const EDOM = 33;
export const ERANGE = 34;
export const EAGAIN = 35;
export const EWOULDBLOCK = 35;
export const EINPROGRESS = 36;
export const EALREADY = 37;
export const ENOTSOCK = 38;
export const EDESTADDRREQ = 39;
export const EMSGSIZE = 40;
export const EPROTOTYPE = 41;
export const ENOPROTOOPT = 42;
export const EPROTONOSUPPORT = 43;
export const ESOCKTNOSUPPORT = 44;
export const ENOTSUP = 45;
export const EPFNOSUPPORT = 46;
export const EAFNOSUPPORT = 47;
export const EADDRINUSE = 48;
export const EADDRNOTAVAIL = 49;
export const ENETDOWN = 50;
export const ENETUNREACH = 51;
export const ENETRESET = 52;
export const ECONNABORTED = 53;
export const ECONNRESET = 54;
export const ENOBUFS = 55;
export const EISCONN = 56;
export const ENOTCONN = 57;
export const ESHUTDOWN = 58;
export const ETOOMANYREFS = 59;
export const ETIMEDOUT = 60;
export const ECONNREFUSED = 61;
export const EHOSTDOWN = 64;
export const EHOSTUNREACH = 65;
export const EOVERFLOW = 84;
export const ECANCELED = 89;
export const EPROTO = 100;
export const EOPNOTSUPP = 102;
export const ENOPOLICY = 103;
export const EQFULL = 106;

const NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 9: 'EBADF', 12: 'ENOMEM', 13: 'EACCES',
  14: 'EFAULT', 16: 'EBUSY', 17: 'EEXIST', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 25: 'ENOTTY', 32: 'EPIPE',
  33: 'EDOM', 34: 'ERANGE', 35: 'EWOULDBLOCK', 36: 'EINPROGRESS', 37: 'EALREADY', 38: 'ENOTSOCK',
  39: 'EDESTADDRREQ', 40: 'EMSGSIZE', 41: 'EPROTOTYPE', 42: 'ENOPROTOOPT', 43: 'EPROTONOSUPPORT',
  44: 'ESOCKTNOSUPPORT', 45: 'ENOTSUP', 46: 'EPFNOSUPPORT', 47: 'EAFNOSUPPORT', 48: 'EADDRINUSE',
  49: 'EADDRNOTAVAIL', 50: 'ENETDOWN', 51: 'ENETUNREACH', 52: 'ENETRESET', 53: 'ECONNABORTED',
  54: 'ECONNRESET', 55: 'ENOBUFS', 56: 'EISCONN', 57: 'ENOTCONN', 58: 'ESHUTDOWN', 59: 'ETOOMANYREFS',
  60: 'ETIMEDOUT', 61: 'ECONNREFUSED', 64: 'EHOSTDOWN', 65: 'EHOSTUNREACH', 84: 'EOVERFLOW',
  89: 'ECANCELED', 100: 'EPROTO', 102: 'EOPNOTSUPP', 103: 'ENOPOLICY', 106: 'EQFULL',
};

/** The symbolic name of a Darwin errno ("EWOULDBLOCK" for 35), or "E<n>" when unknown. */
export const errnoName = (e: number): string => NAMES[e] ?? `E${e}`;
