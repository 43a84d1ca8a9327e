// The packetdrill script parser: #ifdef preprocessing, header options, then events (time + packet,
// syscall, `shell command` or %{ code }%). A character-level recursive-descent parser, because the
// language is contextual (tcpdump flags `S.`, `1:1001(1000)`, `0.1...0.3`). Errors are thrown as
// DrillSyntaxError with line and column.

import type {
  Action, DrillEvent, Expr, HeaderOption, IcmpSpec, IpInfo, Loc, PacketEvent, Script, StructField, SyscallEvent, TcpOption,
  TcpSpec, TimeSpec, UdpSpec,
} from './ast.js';

export class DrillSyntaxError extends Error {
  constructor(readonly line: number, readonly col: number, readonly reason: string) {
    super(`${line}:${col}: syntax error: ${reason}`);
  }
}

/**
 * `#ifdef NAME` … `#endif` (no nesting, no #else): keeps the enclosed lines only when NAME is in
 * `defines`. Removed lines (and the directives) become empty so line numbers stay right.
 */
export function preprocess(text: string, defines: ReadonlySet<string>): string {
  const lines = text.split('\n');
  let inBlock: { keep: boolean; line: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    const m = /^#\s*ifdef\s+(\S+)\s*$/.exec(t);
    if (m !== null) {
      if (inBlock !== null) throw new DrillSyntaxError(i + 1, 1, `nested #ifdef (the block opened on line ${inBlock.line} is not closed)`);
      inBlock = { keep: defines.has(m[1]!), line: i + 1 };
      lines[i] = '';
      continue;
    }
    if (/^#\s*endif\b/.test(t)) {
      if (inBlock === null) throw new DrillSyntaxError(i + 1, 1, '#endif without #ifdef');
      inBlock = null;
      lines[i] = '';
      continue;
    }
    if (/^#\s*(else|ifndef|if|elif|define|include)\b/.test(t)) {
      throw new DrillSyntaxError(i + 1, 1, `unsupported preprocessor directive '${t.split(/\s+/)[0]}'`);
    }
    if (inBlock !== null && !inBlock.keep) lines[i] = '';
  }
  if (inBlock !== null) throw new DrillSyntaxError(inBlock.line, 1, '#ifdef without #endif');
  return lines.join('\n');
}

const FLAG_BITS: Readonly<Record<string, number>> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, '.': 0x10, U: 0x20, E: 0x40, W: 0x80 };

class Scanner {
  pos = 0;
  private readonly lineStarts: number[] = [0];
  constructor(readonly src: string) {
    for (let i = 0; i < src.length; i++) if (src[i] === '\n') this.lineStarts.push(i + 1);
  }

  locAt(pos: number): Loc {
    let lo = 0, hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= pos) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, col: pos - this.lineStarts[lo]! + 1 };
  }
  get loc(): Loc { return this.locAt(this.pos); }

  fail(reason: string, pos = this.pos): never {
    const l = this.locAt(pos);
    throw new DrillSyntaxError(l.line, l.col, reason);
  }

  /** Skips whitespace (newlines included) and comments. */
  ws(): void {
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { this.pos++; continue; }
      if (c === '/' && s[this.pos + 1] === '/') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
        continue;
      }
      if (c === '/' && s[this.pos + 1] === '*') {
        const end = s.indexOf('*/', this.pos + 2);
        if (end < 0) this.fail('unterminated /* comment');
        this.pos = end + 2;
        continue;
      }
      return;
    }
  }

  /** Skips blanks and comments on the current line only. */
  wsLine(): void {
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === ' ' || c === '\t' || c === '\r') { this.pos++; continue; }
      if (c === '/' && s[this.pos + 1] === '/') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
        continue;
      }
      if (c === '/' && s[this.pos + 1] === '*') {
        const end = s.indexOf('*/', this.pos + 2);
        if (end < 0) this.fail('unterminated /* comment');
        if (s.slice(this.pos, end).includes('\n')) return;
        this.pos = end + 2;
        continue;
      }
      return;
    }
  }

  get eof(): boolean { return this.pos >= this.src.length; }
  peek(n = 0): string { return this.src[this.pos + n] ?? ''; }
  startsWith(t: string): boolean { return this.src.startsWith(t, this.pos); }

  accept(t: string): boolean {
    this.ws();
    if (this.src.startsWith(t, this.pos)) { this.pos += t.length; return true; }
    return false;
  }
  expect(t: string, what?: string): void {
    if (!this.accept(t)) this.fail(`expected ${what ?? `'${t}'`}${this.near()}`);
  }
  near(): string {
    if (this.eof) return ' but reached the end of the script';
    const m = /^\S{1,20}/.exec(this.src.slice(this.pos));
    return m === null ? '' : ` near '${m[0]}'`;
  }

  /** Identifier: letters, digits, `_`, `.` after the first char (sysctl-like names are not read here). */
  ident(): string | null {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos, this.pos + 128));
    if (m === null) return null;
    this.pos += m[0].length;
    return m[0];
  }
  peekIdent(): string | null {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos, this.pos + 128));
    return m === null ? null : m[0];
  }

  /** Unsigned integer (decimal or 0x hex). */
  uint(what = 'a number'): number {
    this.ws();
    const m = /^(0x[0-9a-fA-F]+|\d+)/.exec(this.src.slice(this.pos, this.pos + 40));
    if (m === null) this.fail(`expected ${what}${this.near()}`);
    this.pos += m[0].length;
    return Number(m[0]);
  }
  /** Signed integer. */
  int(what = 'a number'): number {
    this.ws();
    if (this.peek() === '-') { this.pos++; return -this.uint(what); }
    return this.uint(what);
  }

  /** Seconds (`1`, `0.25`, `.1`, `1.`) → µs; does not consume the dots of `...`. */
  seconds(): number | null {
    this.ws();
    const m = /^(\d+(\.(?!\.\.)\d*)?|\.\d+)/.exec(this.src.slice(this.pos, this.pos + 40));
    if (m === null) return null;
    this.pos += m[0].length;
    return Math.round(Number(m[0].endsWith('.') ? m[0].slice(0, -1) : m[0]) * 1_000_000);
  }
}

/** Parses a script (after #ifdef preprocessing with `defines`). */
export function parseScript(text: string, defines: ReadonlySet<string> = new Set()): Script {
  const sc: Scanner = new Scanner(preprocess(text, defines));
  const options: HeaderOption[] = [];
  // Header options: `--name[=value]`, one per line, before the first event.
  for (;;) {
    sc.ws();
    if (!sc.startsWith('--')) break;
    const loc = sc.loc;
    const start = sc.pos;
    while (!sc.eof && sc.peek() !== '\n') sc.pos++;
    const raw = sc.src.slice(start + 2, sc.pos).replace(/\/\/.*$/, '').trim();
    const m = /^([A-Za-z0-9_-]+)(?:=(.*))?$/.exec(raw);
    if (m === null) sc.fail(`bad header option '--${raw}'`, start);
    options.push({ name: m[1]!, value: m[2] === undefined ? null : m[2].trim(), loc });
  }
  const events: DrillEvent[] = [];
  for (;;) {
    sc.ws();
    if (sc.eof) break;
    events.push(parseEvent(sc));
  }
  return { options, events };
}

function parseTime(sc: Scanner): TimeSpec {
  sc.ws();
  if (sc.accept('*')) return { kind: 'any' };
  const rel = sc.accept('+');
  const a = sc.seconds();
  if (a === null) sc.fail(`expected an event time (like 0.1, +0.1 or *)${sc.near()}`);
  sc.ws();
  if (sc.peek() === '~') {
    sc.pos++;
    const rel2 = sc.accept('+');
    if (rel2 !== rel) sc.fail('both ends of a time range must be absolute, or both relative');
    const b = sc.seconds();
    if (b === null) sc.fail('expected the end of the time range');
    if (b < a) sc.fail('time range ends before it starts');
    return { kind: 'range', rel, lo: a, hi: b };
  }
  return rel ? { kind: 'rel', us: a } : { kind: 'abs', us: a };
}

function parseEvent(sc: Scanner): DrillEvent {
  const startPos = sc.pos;
  const loc = sc.loc;
  // Commands and code events may be written without a time (then: +0).
  const timeless = sc.peek() === '`' || (sc.peek() === '%' && sc.peek(1) === '{');
  const time: TimeSpec = timeless ? { kind: 'rel', us: 0 } : parseTime(sc);
  let end: SyscallEvent['end'] = null;
  sc.ws();
  if (sc.startsWith('...')) {
    sc.pos += 3;
    sc.ws();
    const rel = sc.accept('+');
    const e = sc.seconds();
    if (e === null) sc.fail('expected the end time of a blocking call after ...');
    end = { rel, us: e };
  }
  sc.ws();
  let action: Action;
  const c = sc.peek();
  if (c === '<' || c === '>') {
    if (end !== null) sc.fail('a packet cannot have an end time');
    action = parsePacket(sc);
  } else if (c === '`') {
    if (end !== null) sc.fail('a command cannot have an end time');
    const close = sc.src.indexOf('`', sc.pos + 1);
    if (close < 0) sc.fail('unterminated `command`');
    action = { kind: 'command', command: sc.src.slice(sc.pos + 1, close).trim() };
    sc.pos = close + 1;
  } else if (c === '%' && sc.peek(1) === '{') {
    if (end !== null) sc.fail('a code event cannot have an end time');
    const close = sc.src.indexOf('}%', sc.pos + 2);
    if (close < 0) sc.fail('unterminated %{ code }%');
    action = { kind: 'code', code: sc.src.slice(sc.pos + 2, close) };
    sc.pos = close + 2;
  } else {
    action = parseSyscall(sc, end);
  }
  if (time.kind === 'any' || time.kind === 'range') {
    if (action.kind !== 'packet' || action.dir !== 'out') {
      const l = loc;
      throw new DrillSyntaxError(l.line, l.col, `'${time.kind === 'any' ? '*' : '~'}' times are allowed only on outbound packets`);
    }
  }
  const text = sc.src.slice(startPos, sc.pos).replace(/\s+/g, ' ').trim();
  return { time, action, loc, text };
}

// ---- syscalls ----

function parseSyscall(sc: Scanner, end: SyscallEvent['end']): SyscallEvent {
  const name = sc.ident();
  if (name === null) sc.fail(`expected a packet, a syscall, a \`command\` or %{ code }%${sc.near()}`);
  sc.expect('(', `'(' after ${name}`);
  const args: Expr[] = [];
  if (!sc.accept(')')) {
    for (;;) {
      args.push(parseExpr(sc));
      if (sc.accept(')')) break;
      sc.expect(',', `',' or ')' in the arguments of ${name}`);
    }
  }
  sc.expect('=', `'= result' after ${name}(...)`);
  const result = parseExpr(sc);
  let errno: string | null = null;
  sc.wsLine();
  const id = /^[A-Z][A-Z0-9_]*/.exec(sc.src.slice(sc.pos, sc.pos + 40));
  if (id !== null) {
    errno = id[0];
    sc.pos += id[0].length;
  }
  // Parenthesised comments: `(Operation now in progress)`, `(flags O_RDWR)`.
  for (;;) {
    sc.wsLine();
    if (sc.peek() !== '(') break;
    skipBalanced(sc);
  }
  return { kind: 'syscall', name, args, result, errno, end };
}

function skipBalanced(sc: Scanner): void {
  const start = sc.pos;
  let depth = 0;
  for (; !sc.eof; sc.pos++) {
    const c = sc.peek();
    if (c === '(') depth++;
    else if (c === ')') { depth--; if (depth === 0) { sc.pos++; return; } }
  }
  sc.fail('unbalanced parenthesis', start);
}

function parseExpr(sc: Scanner): Expr {
  let left = parsePrimary(sc);
  for (;;) {
    sc.ws();
    if (sc.peek() === '|' ) {
      const loc = sc.loc;
      sc.pos++;
      const right = parsePrimary(sc);
      left = { kind: 'or', left, right, loc };
      continue;
    }
    return left;
  }
}

function parsePrimary(sc: Scanner): Expr {
  sc.ws();
  const loc = sc.loc;
  if (sc.startsWith('...')) { sc.pos += 3; return { kind: 'ellipsis', loc }; }
  const c = sc.peek();
  if (c === '[') {
    sc.pos++;
    const items: Expr[] = [];
    if (!sc.accept(']')) {
      for (;;) {
        items.push(parseExpr(sc));
        if (sc.accept(']')) break;
        sc.expect(',', `',' or ']'`);
      }
    }
    return { kind: 'array', items, loc };
  }
  if (c === '{') return parseStruct(sc, null, loc);
  if (c === '"') {
    const close = sc.src.indexOf('"', sc.pos + 1);
    if (close < 0) sc.fail('unterminated string');
    const value = sc.src.slice(sc.pos + 1, close);
    sc.pos = close + 1;
    return { kind: 'str', value, loc };
  }
  if (c === '-' || /[0-9]/.test(c)) return { kind: 'num', value: sc.int(), loc };
  const name = sc.ident();
  if (name === null) sc.fail(`expected an argument${sc.near()}`);
  sc.ws();
  if (sc.peek() === '{') return parseStruct(sc, name, loc);
  if (sc.peek() === '(') {
    sc.pos++;
    const args: Expr[] = [];
    if (!sc.accept(')')) {
      for (;;) {
        args.push(parseExpr(sc));
        if (sc.accept(')')) break;
        sc.expect(',', `',' or ')'`);
      }
    }
    return { kind: 'call', name, args, loc };
  }
  return { kind: 'sym', name, loc };
}

function parseStruct(sc: Scanner, type: string | null, loc: Loc): Expr {
  sc.expect('{');
  const fields: StructField[] = [];
  if (!sc.accept('}')) {
    for (;;) {
      const name = sc.ident();
      if (name === null) sc.fail(`expected a field name${sc.near()}`);
      sc.ws();
      if (sc.peek() === '(') skipBalanced(sc); // msg_iov(1)=...
      sc.expect('=', `'=' after field ${name}`);
      fields.push({ name, value: parseExpr(sc) });
      if (sc.accept('}')) break;
      sc.expect(',', `',' or '}' in a struct`);
    }
  }
  return { kind: 'struct', type, fields, loc };
}

// ---- packets ----

function parsePacket(sc: Scanner): PacketEvent {
  const start = sc.pos;
  const dir = sc.peek() === '<' ? 'in' : 'out';
  sc.pos++;
  const ip: IpInfo = {};
  let unsupported: string | null = null;
  let addr: PacketEvent['addr'] = null;
  const names: string[] = [];
  for (;;) {
    sc.ws();
    if (sc.startsWith('addr[') || sc.startsWith('addr ')) {
      // `addr[NAME]`, then `> addr[NAME]`: the packet's source, then its destination.
      const from = sc.pos;
      while (!sc.eof && sc.peek() !== ']') sc.pos++;
      sc.pos++;
      names.push(sc.src.slice(from, sc.pos).replace(/^addr\s*\[\s*|\s*\]$/g, ''));
      sc.ws();
      if (names.length === 1 && (sc.peek() === '>' || sc.peek() === '<')) { sc.pos++; continue; }
      continue;
    }
    if (sc.peek() === '[') {
      const m = /^\[(noecn|ect0|ect1|ce|ect01)\]/.exec(sc.src.slice(sc.pos, sc.pos + 10));
      if (m === null) sc.fail('expected [noecn], [ect0], [ect1], [ce] or [ect01]');
      ip.ecn = m[1] as IpInfo['ecn'];
      sc.pos += m[0].length;
      continue;
    }
    if (sc.peek() === '(') {
      const save = sc.pos;
      sc.pos++;
      const k = sc.ident();
      if (k === 'tos' || k === 'ttl' || k === 'class' || k === 'hlim' || k === 'flowlabel') {
        const v = sc.uint(`a value for ${k}`);
        sc.expect(')');
        if (k === 'tos') ip.tos = v; else if (k === 'ttl') ip.ttl = v; else if (k === 'class') ip.tclass = v;
        else if (k === 'hlim') ip.hlim = v; else ip.flowlabel = v;
        continue;
      }
      sc.pos = save;
      sc.fail(`unknown ip_info (expected tos, ttl, class, hlim or flowlabel)`);
    }
    break;
  }
  if (names.length > 0) {
    const idx = names.map((n) => /^[cs]addr(\d+)$/.exec(n));
    if (names.length !== 2 || idx[0] === null || idx[1] === null) {
      unsupported = `explicit packet addressing other than addr[caddrN] > addr[saddrN] (${names.map((n) => `addr[${n}]`).join(' > ')})`;
    } else {
      const [src, dst] = [Number(idx[0]![1]), Number(idx[1]![1])];
      addr = dir === 'in' ? { remote: src, local: dst } : { remote: dst, local: src };
      if (addr.local !== 0) unsupported = `explicit packet addressing with an extra local address (addr[${dir === 'in' ? names[1] : names[0]}]; only index 0 on the stack's side)`;
    }
  }
  sc.ws();
  let spec: TcpSpec | UdpSpec | IcmpSpec;
  const word = /^[A-Za-z]+/.exec(sc.src.slice(sc.pos, sc.pos + 10))?.[0];
  if (word === 'udp') {
    sc.pos += 3;
    sc.expect('(', `'(' after udp`);
    const len = sc.uint('the datagram length');
    sc.expect(')');
    spec = { proto: 'udp', len };
  } else if (word === 'icmp') {
    sc.pos += 4;
    spec = parseIcmp(sc);
  } else {
    spec = parseTcp(sc, dir);
    if (spec.options?.some((o) => o.kind === 'unsupported') === true) {
      const o = spec.options.find((x) => x.kind === 'unsupported') as { name: string };
      unsupported ??= `TCP option '${o.name}'`;
    }
  }
  const text = sc.src.slice(start, sc.pos).replace(/\s+/g, ' ').trim();
  return { kind: 'packet', dir, ip, spec, text, addr, unsupported };
}

function parseTcp(sc: Scanner, dir: 'in' | 'out'): TcpSpec {
  sc.ws();
  const fm = /^[SFRPUEW.-]+/.exec(sc.src.slice(sc.pos, sc.pos + 12));
  if (fm === null) sc.fail(`expected TCP flags (like S, S., P., F., R, .), 'udp' or 'icmp'${sc.near()}`);
  let flags = 0;
  const flagText = fm[0];
  if (flagText !== '-') {
    for (const ch of flagText) {
      const b = FLAG_BITS[ch];
      if (b === undefined) sc.fail(`bad TCP flag '${ch}'`);
      flags |= b;
    }
  }
  sc.pos += flagText.length;
  sc.ws();
  let startSeq: number | null;
  let len: number;
  let absolute = false;
  if (sc.startsWith('...')) {
    if (dir === 'in') sc.fail('`...(len)` sequence numbers are allowed only on outbound packets');
    sc.pos += 3;
    sc.expect('(');
    len = sc.uint('a payload length');
    sc.expect(')');
    startSeq = null;
  } else {
    const loc = sc.pos;
    const s = sc.uint('a sequence number start:end(len)');
    sc.expect(':', `':' in start:end(len)`);
    const e = sc.uint('the end sequence number');
    sc.expect('(', `'(' in start:end(len)`);
    len = sc.uint('a payload length');
    sc.expect(')');
    if (((s + len) >>> 0) !== (e >>> 0)) sc.fail(`inconsistent sequence numbers: ${s}:${e}(${len}) (end must be start + len)`, loc);
    startSeq = s;
    sc.ws();
    if (sc.peek() === '!') { sc.pos++; absolute = true; }
  }
  let ack: number | null = null, win: number | null = null, urg: number | null = null;
  let options: TcpOption[] | null = [];
  for (;;) {
    sc.ws();
    const w = sc.peekIdent();
    if (w === 'ack') { sc.ident(); ack = sc.uint('an ack number'); continue; }
    if (w === 'win') { sc.ident(); win = sc.uint('a window'); continue; }
    if (w === 'urg') { sc.ident(); urg = sc.uint('an urgent pointer'); continue; }
    if (sc.peek() === '<') { options = parseTcpOptions(sc, dir); continue; }
    break;
  }
  if (dir === 'in' && win === null) sc.fail('inbound TCP packets need a window (win N)');
  if ((flags & 0x10) !== 0 && ack === null) sc.fail(`flags '${flagText}' include ACK (.) but no 'ack N' is given`);
  if ((flags & 0x10) === 0 && ack !== null && dir === 'in') sc.fail(`'ack ${ack}' given but the flags '${flagText}' have no ACK (.)`);
  return { proto: 'tcp', flags, flagText, start: startSeq, len, absolute, ack, win, urg, options };
}

function parseTcpOptions(sc: Scanner, dir: 'in' | 'out'): TcpOption[] | null {
  sc.expect('<');
  sc.ws();
  if (sc.startsWith('...')) {
    if (dir === 'in') sc.fail('`<...>` is allowed only on outbound packets');
    sc.pos += 3;
    sc.expect('>', `'>' after <...`);
    return null;
  }
  const out: TcpOption[] = [];
  if (sc.accept('>')) return out;
  for (;;) {
    sc.ws();
    const pos = sc.pos;
    const name = sc.ident();
    if (name === null) sc.fail(`expected a TCP option${sc.near()}`);
    switch (name) {
      case 'nop': out.push({ kind: 'nop' }); break;
      case 'eol': out.push({ kind: 'eol' }); break;
      case 'mss': out.push({ kind: 'mss', value: sc.uint('an MSS value') }); break;
      case 'wscale': out.push({ kind: 'wscale', value: sc.uint('a window scale') }); break;
      case 'sackOK': out.push({ kind: 'sackOK' }); break;
      case 'sack': {
        const blocks: [number, number][] = [];
        for (;;) {
          sc.ws();
          if (!/[0-9]/.test(sc.peek())) break;
          const l = sc.uint();
          sc.expect(':', `':' in a SACK block`);
          blocks.push([l, sc.uint('a SACK right edge')]);
        }
        if (blocks.length === 0) sc.fail('sack needs at least one block a:b');
        out.push({ kind: 'sack', blocks });
        break;
      }
      case 'TS': {
        if (sc.ident() !== 'val') sc.fail(`expected 'val' after TS`);
        sc.ws();
        let val: number | null = null;
        if (sc.startsWith('...')) sc.pos += 3; else val = sc.uint('a TS value');
        if (sc.ident() !== 'ecr') sc.fail(`expected 'ecr' in TS val V ecr E`);
        sc.ws();
        let ecr: number | null = null;
        let ecrAbsolute = false;
        if (sc.startsWith('...')) sc.pos += 3;
        else {
          ecr = sc.uint('a TS echo reply');
          sc.ws();
          if (sc.peek() === '!') { sc.pos++; ecrAbsolute = true; }
        }
        out.push({ kind: 'ts', val, ecr, ecrAbsolute });
        break;
      }
      case 'FO':
      case 'FOEXP': {
        // packetdrill: FAST_OPEN / FAST_OPEN_EXP with an optional cookie, a hex blob (word or integer).
        sc.ws();
        const m = /^[0-9A-Za-z]*/.exec(sc.src.slice(sc.pos, sc.pos + 80))![0];
        if (!/^[0-9a-fA-F]*$/.test(m) || m.length % 2 !== 0) sc.fail(`expected the Fast Open cookie as an even number of hex digits, got '${m}'`);
        if (m.length > 72) sc.fail('a Fast Open cookie cannot exceed the 40-byte option space');
        sc.pos += m.length;
        const cookie = Uint8Array.from(m.match(/../g) ?? [], (x) => parseInt(x, 16));
        out.push({ kind: 'fo', cookie, exp: name === 'FOEXP' });
        break;
      }
      default: {
        // md5, mpcapable, dss, exp...: skip to the next ',' or '>' and report unsupported later.
        let depth = 0;
        while (!sc.eof) {
          const c = sc.peek();
          if (c === '[') depth++;
          else if (c === ']') depth--;
          else if (depth === 0 && (c === ',' || c === '>')) break;
          sc.pos++;
        }
        if (sc.eof) sc.fail('unterminated option list', pos);
        out.push({ kind: 'unsupported', name });
      }
    }
    if (sc.accept('>')) return out;
    sc.expect(',', `',' or '>' in the option list`);
  }
}

function parseIcmp(sc: Scanner): IcmpSpec {
  const type = sc.ident();
  if (type === null) sc.fail(`expected an ICMP type${sc.near()}`);
  let code: string | null = null;
  let mtu: number | null = null;
  const w = sc.peekIdent();
  if (w !== null && w !== 'mtu') { code = w; sc.ident(); }
  if (sc.peekIdent() === 'mtu') { sc.ident(); mtu = sc.uint('an MTU'); }
  let quoted: IcmpSpec['quoted'] = null;
  sc.ws();
  if (sc.peek() === '[') {
    sc.pos++;
    sc.ws();
    if (sc.startsWith('udp')) {
      sc.pos += 3;
      sc.expect('(');
      const len = sc.uint();
      sc.expect(')');
      quoted = { proto: 'udp', len };
    } else {
      const s = sc.uint('a quoted start:end(len)');
      sc.expect(':');
      const e = sc.uint();
      sc.expect('(');
      const len = sc.uint();
      sc.expect(')');
      if (((s + len) >>> 0) !== (e >>> 0)) sc.fail(`inconsistent quoted sequence numbers ${s}:${e}(${len})`);
      quoted = { proto: 'tcp', start: s, len };
    }
    sc.expect(']');
  }
  return { proto: 'icmp', type, code, mtu, quoted };
}
