// Name registration and look-up: the bootstrap_check_in/register/look_up of CFMessagePort.c done
// with AF_UNIX sockets in the per-user directory (runtime-dir.ts).
//
// Registering is exclusive and atomic: the server listens on a private temporary path, then
// hard-links that socket file to the name's path with link(2), which fails with EEXIST when the
// name is taken — no window in which two processes both believe they own a name. The temporary
// path is then unlinked (the socket stays reachable through the name's path: AF_UNIX connect
// resolves the inode).
//
// A taken name is probed with connect(): accepted (or EAGAIN, a full backlog) means live, and the
// registration fails; ECONNREFUSED means stale (its process died without unlinking). A stale file
// is removed safely: it is renamed to a private trash path (atomic), and only if the renamed file
// is still the inode that refused the probe is it deleted; otherwise (somebody replaced it with a
// live registration in between) it is linked back. A live socket is never deleted.
//
// Unregistering unlinks the name's path only if it is still our inode.

import { randomBytes } from 'node:crypto';
import { linkSync, lstatSync, renameSync, unlinkSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { IpcConnection } from './connection.js';
import type { ConnectionHandlers } from './connection.js';
import { messagePortDirectory, socketPathForName } from './runtime-dir.js';

/** A registered name: a listening socket and the connections it accepted. */
export class IpcListener {
  private readonly conns = new Set<IpcConnection>();
  private closed = false;

  /** @internal Use registerName. */
  constructor(private readonly server: Server, readonly path: string, private readonly ino: number,
    handlers: ConnectionHandlers) {
    server.on('connection', (sock: Socket) => {
      if (this.closed) { sock.destroy(); return; }
      const conn = new IpcConnection(sock, {
        onFrame: handlers.onFrame,
        onClose: (c, why) => { this.conns.delete(c); handlers.onClose(c, why); },
      });
      this.conns.add(conn);
    });
    server.on('error', () => { /* after listen, errors are per connection */ });
  }

  get connectionCount(): number { return this.conns.size; }

  /** Stops listening, drops every connection (their remotes see the port die), frees the name. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    unlinkIfInode(this.path, this.ino);
    this.server.close();
    for (const c of [...this.conns]) c.close();
  }
}

export type RegisterResult = { kind: 'ok'; listener: IpcListener } | { kind: 'taken' } | { kind: 'unavailable' };

/** Registers `name` (UTF-8 bytes) in the namespace. */
export async function registerName(name: Uint8Array, handlers: ConnectionHandlers): Promise<RegisterResult> {
  const dir = messagePortDirectory();
  const path = dir === null ? null : socketPathForName(dir, name);
  if (dir === null || path === null) return { kind: 'unavailable' };
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
  const server = createServer({ pauseOnConnect: false });
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(tmp, () => resolve(true));
  });
  if (!listening) { server.close(); return { kind: 'unavailable' }; }
  const abandon = (): void => { server.close(); tryUnlink(tmp); };
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      linkSync(tmp, path);
      const ino = lstatSync(path).ino;
      tryUnlink(tmp);
      return { kind: 'ok', listener: new IpcListener(server, path, ino, handlers) };
    } catch (e) {
      if (errCode(e) !== 'EEXIST') { abandon(); return { kind: 'unavailable' }; }
    }
    let ino: number;
    try { ino = lstatSync(path).ino; } catch { continue; }   // vanished meanwhile: retry the link
    const state = await probe(path);
    if (state === 'live') { abandon(); return { kind: 'taken' }; }
    if (state === 'stale') removeStale(dir, path, ino);
  }
  abandon();
  return { kind: 'taken' };
}

/** Connects to a registered name; null when there is no live port by that name (CF: NULL). */
export async function connectName(name: Uint8Array, handlers: ConnectionHandlers): Promise<IpcConnection | null> {
  const dir = messagePortDirectory();
  const path = dir === null ? null : socketPathForName(dir, name);
  if (path === null) return null;
  const sock = await new Promise<Socket | null>((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => { s.removeAllListeners('error'); resolve(s); });
    s.once('error', () => { s.destroy(); resolve(null); });
  });
  return sock === null ? null : new IpcConnection(sock, handlers);
}

/** The socket path a name maps to (tests and diagnostics). */
export function pathForName(name: Uint8Array): string | null {
  const dir = messagePortDirectory();
  return dir === null ? null : socketPathForName(dir, name);
}

type ProbeState = 'live' | 'stale' | 'gone';

function probe(path: string): Promise<ProbeState> {
  return new Promise<ProbeState>((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => { s.destroy(); resolve('live'); });
    s.once('error', (e) => {
      s.destroy();
      const code = errCode(e);
      // Anything but a clear refusal or absence counts as live: never delete what might be in use.
      resolve(code === 'ECONNREFUSED' || code === 'ENOTSOCK' ? 'stale' : code === 'ENOENT' ? 'gone' : 'live');
    });
  });
}

function removeStale(dir: string, path: string, ino: number): void {
  const trash = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}.stale`);
  try { renameSync(path, trash); } catch { return; }
  let same = false;
  try { same = lstatSync(trash).ino === ino; } catch { return; }
  if (!same) {
    // Somebody registered the name between our probe and the rename: put theirs back.
    try { linkSync(trash, path); } catch { /* a third registrant won; theirs stays */ }
  }
  tryUnlink(trash);
}

function unlinkIfInode(path: string, ino: number): void {
  try { if (lstatSync(path).ino === ino) unlinkSync(path); } catch { /* already gone */ }
}

function tryUnlink(p: string): void {
  try { unlinkSync(p); } catch { /* already gone */ }
}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}
