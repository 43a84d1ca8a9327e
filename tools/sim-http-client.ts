// HTTP/1.1 response framing for `tunstack sim`'s http checks: an incremental reader of the
// responses arriving on one connection, each framed by Content-Length (what the http service
// always sends). The body of each response goes, as it arrives, to the sink the check queued for
// it, so a large body is verified on the fly without being buffered.

/** Receives one response's body bytes, `off` being the offset of `b[0]` in the body. */
export type BodySink = (b: Uint8Array, off: number) => void;

export interface HttpResponse {
  readonly status: number;
  /** Lower-case header names; repeated fields joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly contentLength: number;
  /** Body bytes received so far (contentLength once complete). */
  bodyReceived: number;
  complete: boolean;
}

/** Largest response head accepted. */
const HEAD_MAX = 16 * 1024;
const latin1 = new TextDecoder('latin1');

export class HttpResponseReader {
  readonly responses: HttpResponse[] = [];
  /** Why the byte stream is not a sequence of well-framed responses (null: fine so far). */
  error: string | null = null;
  private head = new Uint8Array(HEAD_MAX);
  private headLen = 0;
  private current: HttpResponse | null = null;
  private readonly sinks: BodySink[] = [];
  private sink: BodySink | null = null;

  /** The body sink of the next response not yet started (responses without a sink discard their body). */
  expect(sink: BodySink): void { this.sinks.push(sink); }

  /** Complete responses so far. */
  get completed(): number {
    let n = 0;
    for (const r of this.responses) if (r.complete) n++;
    return n;
  }

  /** Consumes bytes received on the connection. */
  feed(b: Uint8Array): void {
    let i = 0;
    while (i < b.length && this.error === null) {
      const cur = this.current;
      if (cur !== null) {
        const n = Math.min(b.length - i, cur.contentLength - cur.bodyReceived);
        if (this.sink !== null && n > 0) this.sink(b.subarray(i, i + n), cur.bodyReceived);
        cur.bodyReceived += n;
        i += n;
        if (cur.bodyReceived === cur.contentLength) this.finish(cur);
        continue;
      }
      // Head: copy up to the blank line.
      for (; i < b.length; i++) {
        if (this.headLen === HEAD_MAX) { this.error = 'response head too large'; return; }
        this.head[this.headLen++] = b[i]!;
        const h = this.head, k = this.headLen;
        if (k >= 4 && h[k - 1] === 10 && h[k - 2] === 13 && h[k - 3] === 10 && h[k - 4] === 13) {
          i++;
          this.startResponse(latin1.decode(h.subarray(0, k - 4)));
          break;
        }
      }
    }
  }

  private startResponse(text: string): void {
    this.headLen = 0;
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (m === null) { this.error = `malformed status line ${JSON.stringify(lines[0])}`; return; }
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) { this.error = `malformed header field ${JSON.stringify(line)}`; return; }
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
    }
    const status = Number(m[1]);
    if (status >= 100 && status < 200) return; // interim (100 Continue): no body, the real response follows
    const cl = headers.get('content-length');
    if (cl === undefined || !/^\d{1,15}$/.test(cl)) { this.error = 'response without a valid Content-Length'; return; }
    const r: HttpResponse = { status, headers, contentLength: Number(cl), bodyReceived: 0, complete: false };
    this.responses.push(r);
    this.sink = this.sinks.shift() ?? null;
    this.current = r;
    if (r.contentLength === 0) this.finish(r);
  }

  private finish(r: HttpResponse): void {
    r.complete = true;
    this.current = null;
    this.sink = null;
  }
}

/** A request head: `method target HTTP/1.1`, Host, the given fields, and Connection: close when `close`. */
export function requestHead(method: string, target: string, host: string, close: boolean, fields: Record<string, string> = {}): Uint8Array {
  let s = `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: tunstack-sim\r\n`;
  for (const [k, v] of Object.entries(fields)) s += `${k}: ${v}\r\n`;
  if (close) s += 'Connection: close\r\n';
  return new TextEncoder().encode(`${s}\r\n`);
}
