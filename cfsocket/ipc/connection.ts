// One AF_UNIX stream connection carrying CFMessagePort frames, with the flow control Mach gave CF:
//
// * Sending: a Mach send blocks only while the destination queue is full. Here "full" means this
//   connection already holds SEND_QUEUE_BYTES or more that the kernel has not accepted (the peer is
//   not reading). A send then waits, in FIFO order behind earlier waiters, until the backlog drains
//   below the mark, the connection dies, or its timeout passes; a send that times out has written
//   nothing (no half frames). A frame, once started, is always written whole.
// * Receiving: the owner accounts frames it has queued but not yet consumed (`hold`/`release`);
//   above RECV_QUEUE_HIGH bytes the socket is paused, so the kernel buffer and then the sender's
//   backlog fill up and the sender's sends time out; below RECV_QUEUE_LOW reading resumes.

import type { Socket } from 'node:net';
import { FRAME_HEADER_LEN, FrameDecoder, encodeFrameHeader } from './frame.js';
import type { Frame, FrameError } from './frame.js';

/** Unsent bytes above which a send waits (the "queue full" of a Mach port). */
export const SEND_QUEUE_BYTES = 1024 * 1024;
/** Received-but-unconsumed bytes above which reading pauses, and below which it resumes. */
export const RECV_QUEUE_HIGH = 4 * 1024 * 1024;
export const RECV_QUEUE_LOW = 1024 * 1024;

export type SendOutcome = 'ok' | 'timeout' | 'closed';

interface Waiter { resolve(o: SendOutcome): void; timer: ReturnType<typeof setTimeout> | undefined }

export interface ConnectionHandlers {
  onFrame(conn: IpcConnection, f: Frame): void;
  /** Called once, when the connection is gone (peer closed, died, protocol error, or close()). */
  onClose(conn: IpcConnection, why: FrameError | 'eof' | 'error' | 'local'): void;
}

export class IpcConnection {
  private readonly decoder: FrameDecoder;
  private readonly waiters: Waiter[] = [];
  private held = 0;
  private paused = false;
  private closed = false;

  constructor(private readonly sock: Socket, private readonly handlers: ConnectionHandlers) {
    this.decoder = new FrameDecoder((f) => { if (!this.closed) handlers.onFrame(this, f); });
    sock.on('data', (chunk: Buffer) => {
      const err = this.decoder.push(chunk);
      if (err !== null) this.finish(err);
    });
    sock.on('end', () => this.finish('eof'));
    sock.on('error', () => this.finish('error'));
    sock.on('close', () => this.finish('eof'));
  }

  get isClosed(): boolean { return this.closed; }

  /**
   * Sends one frame. timeoutMs: Infinity waits as long as it takes, 0 fails at once when the
   * queue is full. Resolves synchronously-fast ('ok' in the same tick) when there is room.
   */
  send(flags: number, msgid: number, conv: number, payload: Uint8Array | null, timeoutMs: number): Promise<SendOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (this.waiters.length === 0 && this.hasRoom()) { this.write(flags, msgid, conv, payload); return Promise.resolve('ok'); }
    if (timeoutMs <= 0) return Promise.resolve('timeout');
    return new Promise<SendOutcome>((resolve) => {
      const w: Waiter = { resolve: () => {}, timer: undefined };
      w.resolve = (o) => {
        if (w.timer !== undefined) clearTimeout(w.timer);
        if (o === 'ok') this.write(flags, msgid, conv, payload);
        resolve(o);
      };
      if (Number.isFinite(timeoutMs)) {
        w.timer = setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve('timeout');
          this.pump();
        }, timeoutMs);
      }
      this.waiters.push(w);
    });
  }

  /**
   * Writes a frame without waiting for room (replies: CF sends them with a zero timeout and drops
   * them when the queue is full; the caller decides with `backlog`).
   */
  sendNow(flags: number, msgid: number, conv: number, payload: Uint8Array | null): boolean {
    if (this.closed) return false;
    this.write(flags, msgid, conv, payload);
    return true;
  }

  /** Bytes written but not yet accepted by the kernel. */
  get backlog(): number { return this.sock.writableLength; }

  /** The owner queued `n` received bytes it has not consumed yet. */
  hold(n: number): void {
    this.held += n;
    if (!this.paused && this.held > RECV_QUEUE_HIGH) { this.paused = true; this.sock.pause(); }
  }

  /** The owner consumed `n` held bytes. */
  release(n: number): void {
    this.held -= n;
    if (this.paused && this.held < RECV_QUEUE_LOW && !this.closed) { this.paused = false; this.sock.resume(); }
  }

  close(): void {
    if (this.closed) return;
    this.sock.destroy();
    this.finish('local');
  }

  private hasRoom(): boolean { return this.sock.writableLength < SEND_QUEUE_BYTES; }

  private write(flags: number, msgid: number, conv: number, payload: Uint8Array | null): void {
    const header = encodeFrameHeader(flags, msgid, conv, payload);
    this.sock.cork();
    if (payload === null || payload.length === 0) {
      this.sock.write(header, () => this.pump());
    } else if (payload.length <= 4096) {
      // Small payloads: one buffer, one syscall.
      const b = new Uint8Array(FRAME_HEADER_LEN + payload.length);
      b.set(header, 0);
      b.set(payload, FRAME_HEADER_LEN);
      this.sock.write(b, () => this.pump());
    } else {
      this.sock.write(header);
      // Copy: the caller's CFData may be mutated after SendRequest returns.
      this.sock.write(new Uint8Array(payload), () => this.pump());
    }
    this.sock.uncork();
  }

  /** Lets waiting senders go while there is room. */
  private pump(): void {
    while (this.waiters.length > 0 && !this.closed && this.hasRoom()) this.waiters.shift()!.resolve('ok');
  }

  private finish(why: FrameError | 'eof' | 'error' | 'local'): void {
    if (this.closed) return;
    this.closed = true;
    if (why !== 'local') this.sock.destroy();
    for (const w of this.waiters.splice(0)) w.resolve('closed');
    this.handlers.onClose(this, why);
  }
}
