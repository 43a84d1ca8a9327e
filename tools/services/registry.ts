// The services `tunstack up --serve LIST` runs on a stack, by name:
//   echo     TCP and UDP port 7 (RFC 862)     discard  TCP and UDP port 9 (RFC 863)
//   chargen  TCP port 19 (RFC 864)            http     TCP port 80 (http-service.ts)
// Each is opened on IPv4 and IPv6. TCP services need a stack with TCP; without it they are
// reported as skipped and the UDP ones still run.

import type { Stack } from '../../stack/stack.js';
import { UdpEchoService } from './udp-echo.js';
import { UdpDiscardService } from './udp-discard.js';
import { stackHasTcp, TcpServer } from './tcp-server.js';
import type { ConnectionFactory } from './tcp-server.js';
import { TcpEchoConnection } from './tcp-echo.js';
import { TcpDiscardConnection } from './tcp-discard.js';
import { chargenPattern, TcpChargenConnection } from './tcp-chargen.js';
import { bytesPattern, HttpConnection } from './http-service.js';

export const SERVICE_NAMES = ['echo', 'discard', 'chargen', 'http'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const SERVICE_PORTS: Readonly<Record<ServiceName, { tcp: number | null; udp: number | null }>> = {
  echo: { tcp: 7, udp: 7 },
  discard: { tcp: 9, udp: 9 },
  chargen: { tcp: 19, udp: null },
  http: { tcp: 80, udp: null },
};

/** Parses `all` or a comma list of service names; throws Error naming the bad entry. */
export function parseServeList(text: string): ServiceName[] {
  const t = text.trim();
  if (t === 'all') return [...SERVICE_NAMES];
  if (t === '' || t === 'none') return [];
  const out: ServiceName[] = [];
  for (const part of t.split(',')) {
    const name = part.trim();
    if (!(SERVICE_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown service ${JSON.stringify(name)} (known: ${SERVICE_NAMES.join(', ')}, or all)`);
    }
    if (!out.includes(name as ServiceName)) out.push(name as ServiceName);
  }
  return out;
}

export interface ServiceSetOptions {
  /** Called with one line per accepted TCP connection (--verbose). */
  readonly onAccept?: ((line: string) => void) | null;
}

/** What is running: one entry per protocol/port that listens. */
export interface RunningService {
  readonly name: ServiceName;
  readonly proto: 'tcp' | 'udp';
  readonly port: number;
}

interface Closable { close(): void }

export class ServiceSet {
  readonly running: RunningService[] = [];
  /** Services (or their TCP half) not started, with why. */
  readonly skipped: { name: ServiceName; proto: 'tcp' | 'udp'; why: string }[] = [];
  readonly tcpServers: TcpServer[] = [];
  private readonly closables: Closable[] = [];

  /** Opens every service in `names`; throws Error when a port cannot be opened (everything opened is closed). */
  static start(stack: Stack, names: readonly ServiceName[], opts: ServiceSetOptions = {}): ServiceSet {
    const set = new ServiceSet();
    try {
      set.open(stack, names, opts);
    } catch (e) {
      set.close();
      throw e;
    }
    return set;
  }

  private open(stack: Stack, names: readonly ServiceName[], opts: ServiceSetOptions): void {
    const tcp = stackHasTcp(stack);
    const onAccept = opts.onAccept ?? null;
    for (const name of names) {
      const ports = SERVICE_PORTS[name];
      if (ports.udp !== null) {
        for (const family of [4, 6] as const) {
          const r = name === 'echo' ? UdpEchoService.open(stack, family, ports.udp) : UdpDiscardService.open(stack, family, ports.udp);
          if (typeof r === 'number') throw new Error(`cannot open UDP ${name} on IPv${family} port ${ports.udp}: errno ${r}`);
          this.closables.push(r);
        }
        this.running.push({ name, proto: 'udp', port: ports.udp });
      }
      if (ports.tcp === null) continue;
      if (!tcp) {
        this.skipped.push({ name, proto: 'tcp', why: 'this build of the stack has no TCP yet' });
        continue;
      }
      const r = TcpServer.open(stack, name, ports.tcp, factoryFor(name), onAccept);
      if (typeof r === 'number') throw new Error(`cannot listen on TCP ${name} port ${ports.tcp}: errno ${r}`);
      this.tcpServers.push(r);
      this.closables.push(r);
      this.running.push({ name, proto: 'tcp', port: ports.tcp });
    }
  }

  /** Open TCP connections across every server. */
  get connections(): number {
    let n = 0;
    for (const s of this.tcpServers) n += s.conns.size;
    return n;
  }

  /** Closes every service and connection (connections get a FIN; `abort`: RST). Idempotent. */
  close(abort = false): void {
    for (const s of this.tcpServers) s.close(abort);
    for (const c of this.closables) if (!(c instanceof TcpServer)) c.close();
    this.closables.length = 0;
    this.tcpServers.length = 0;
  }
}

function factoryFor(name: ServiceName): ConnectionFactory {
  switch (name) {
    case 'echo': return (srv, so) => new TcpEchoConnection(srv, so);
    case 'discard': return (srv, so) => new TcpDiscardConnection(srv, so);
    case 'chargen': {
      const pattern = chargenPattern();
      return (srv, so) => new TcpChargenConnection(srv, so, pattern);
    }
    case 'http': {
      const pattern = bytesPattern();
      return (srv, so) => new HttpConnection(srv, so, pattern);
    }
  }
}
