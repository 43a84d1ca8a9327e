// Architecture rules from design/architecture.md, checked on every run: imports point downwards
// only, and only the allowed places touch node:* modules, real time or Math.random.

import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOP = ['stack', 'kpi', 'cfsocket', 'tools', 'bench'];

function listTs(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(listTs(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const files = TOP.flatMap((t) => listTs(join(ROOT, t))).map((abs) => ({
  abs,
  rel: relative(ROOT, abs).split('\\').join('/'),
  src: readFileSync(abs, 'utf8'),
}));

function importsOf(src: string): string[] {
  const out: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(src); m !== null; m = re.exec(src)) out.push((m[1] ?? m[2])!);
  return out;
}

/** Where a file sits: the top folder, or for stack/ its subsystem. */
function area(rel: string): string {
  const parts = rel.split('/');
  if (parts[0] !== 'stack') return parts[0]!;
  return parts.length === 2 ? 'stack-root' : `stack/${parts[1]}`;
}

// Rank within stack/: a file may import only its own rank or lower. socket/ is the
// protocol-independent layer the transports plug into through its protocol switch (BSD's protosw),
// so it ranks below udp/tcp/mptcp, which call into socket buffers as BSD's protocols do.
const STACK_RANK: Record<string, number> = {
  'stack-root': 6,
  'stack/wire': 0, 'stack/mbuf': 0, 'stack/time': 0, 'stack/random': 0,
  'stack/link': 1,
  'stack/ip': 2,
  'stack/socket': 3, 'stack/inpcb': 3,
  'stack/udp': 4, 'stack/tcp': 4, 'stack/mptcp': 5,
};
// stack-root files that everything may use: plain types and the environment.
const STACK_SHARED = new Set(['stack/result.ts', 'stack/env.ts', 'stack/context.ts', 'stack/errno.ts']);
const TOP_RANK: Record<string, number> = { stack: 0, kpi: 1, cfsocket: 2, tools: 3, bench: 3 };

describe('architecture', () => {
  it('finds the source tree', () => {
    expect(files.some((f) => f.rel.startsWith('stack/'))).toBe(true);
  });

  it('imports point downwards only', () => {
    const bad: string[] = [];
    for (const f of files) {
      for (const spec of importsOf(f.src)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(ROOT, resolve(dirname(f.abs), spec)).split('\\').join('/').replace(/\.js$/, '.ts');
        const fromTop = f.rel.split('/')[0]!;
        const toTop = target.split('/')[0]!;
        if (TOP_RANK[toTop] === undefined) continue;
        if (TOP_RANK[toTop]! > TOP_RANK[fromTop]!) bad.push(`${f.rel} -> ${target}`);
        // cfsocket reaches the stack only through kpi.
        if (fromTop === 'cfsocket' && toTop === 'stack') bad.push(`${f.rel} -> ${target} (cfsocket must use kpi/)`);
        // kpi uses the stack only through its public entry.
        if (fromTop === 'kpi' && toTop === 'stack' && target !== 'stack/index.ts') bad.push(`${f.rel} -> ${target} (kpi must use stack/index.ts)`);
        if (fromTop === 'stack' && toTop === 'stack' && !STACK_SHARED.has(target)) {
          const a = area(f.rel), b = area(target);
          const ra = STACK_RANK[a], rb = STACK_RANK[b];
          if (ra !== undefined && rb !== undefined && rb > ra) bad.push(`${f.rel} -> ${target}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('only drivers, the TUN binding and tools import node:* modules', () => {
    const allowed = (rel: string) =>
      rel.startsWith('tools/') || rel.startsWith('bench/') || rel.startsWith('stack/link/tun/') ||
      rel === 'stack/time/node-driver.ts' || rel.startsWith('cfsocket/ipc/') ||
      // CFRunLoop's per-thread "current loop" maps onto Node's async context (AsyncLocalStorage).
      rel === 'cfsocket/runloop-context.ts';
    const bad = files
      .filter((f) => !allowed(f.rel) && importsOf(f.src).some((s) => s.startsWith('node:') || s === 'fs' || s === 'os'))
      .map((f) => f.rel);
    expect(bad).toEqual([]);
  });

  it('nothing under stack/ reads real time or Math.random except the clock and the node driver', () => {
    const allowed = new Set(['stack/time/clock.ts', 'stack/time/node-driver.ts']);
    const re = /\bDate\.now\(|\bnew Date\(|performance\.now\(|\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(|Math\.random\(/;
    const bad = files
      .filter((f) => f.rel.startsWith('stack/') && !allowed.has(f.rel) && !f.rel.startsWith('stack/link/tun/'))
      .filter((f) => re.test(f.src.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '')))
      .map((f) => f.rel);
    expect(bad).toEqual([]);
  });

  it('has no utils dumping grounds', () => {
    expect(files.filter((f) => /(^|\/|-)(utils?|helpers?|misc)(\.ts|\/)/.test(f.rel)).map((f) => f.rel)).toEqual([]);
  });
});
