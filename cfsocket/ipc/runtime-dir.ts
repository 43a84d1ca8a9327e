// The CFMessagePort namespace on Linux: one per-user directory of AF_UNIX sockets, the analogue of
// macOS's per-session bootstrap namespace. A name maps to one socket file in it.
//
//   TUNSTACK_CFMP_DIR      explicit directory (tests use it to isolate themselves)
//   $XDG_RUNTIME_DIR/tunstack-cfmp   when XDG_RUNTIME_DIR is set (systemd's per-user tmpfs)
//   os.tmpdir()/tunstack-<uid>       otherwise
//
// The directory is created with mode 0700 and must be a real directory (not a symlink) owned by
// this uid with no group/other access; one we own with a looser mode is tightened, one owned by
// somebody else is refused (no namespace: CreateLocal/CreateRemote return NULL). The abstract
// socket namespace is avoided on purpose: it is per network namespace and shared between users.
//
// Only this folder (cfsocket/ipc/) touches node:* modules.

import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** sun_path is 108 bytes on Linux, including the terminating NUL. */
export const SUN_PATH_MAX = 107;

/** The directory holding the message-port sockets, created if needed; null if unusable. */
export function messagePortDirectory(): string | null {
  const explicit = process.env['TUNSTACK_CFMP_DIR'];
  const xdg = process.env['XDG_RUNTIME_DIR'];
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = explicit !== undefined && explicit !== ''
    ? explicit
    : xdg !== undefined && xdg !== '' ? join(xdg, 'tunstack-cfmp') : join(tmpdir(), `tunstack-${uid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid) return null;
    if ((st.mode & 0o077) !== 0) chmodSync(dir, st.mode & 0o700);
    return dir;
  } catch {
    return null;
  }
}

/**
 * The socket path for a (sanitized, UTF-8) name. Bytes outside [A-Za-z0-9_.-] and a leading '.'
 * are %XX-escaped, so names may contain '/' and never collide with our '.tmp-' files. When the
 * result would not fit sun_path the name is hashed ('#' + SHA-256, a character the escaping never
 * produces). Null when even the hashed form does not fit (a very long directory).
 */
export function socketPathForName(dir: string, name: Uint8Array): string | null {
  let enc = '';
  for (let i = 0; i < name.length; i++) {
    const b = name[i]!;
    const plain = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
      b === 0x5f || b === 0x2d || (b === 0x2e && i > 0);
    enc += plain ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  let path = join(dir, `${enc}.sock`);
  if (Buffer.byteLength(path) <= SUN_PATH_MAX) return path;
  path = join(dir, `#${createHash('sha256').update(name).digest('hex')}.sock`);
  return Buffer.byteLength(path) <= SUN_PATH_MAX ? path : null;
}
