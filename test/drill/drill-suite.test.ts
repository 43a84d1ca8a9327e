// Runs every packetdrill script under test/drill/ through the drill runner in-process (virtual
// time, XNU profile) and expects each to pass. One test per script; a failure prints the runner's
// message (line, event, expected vs actual).
//
// Scripts that expose a known stack bug are listed in KNOWN_BUGS and run with `it.fails`: the suite
// stays green while the bug exists, and the test turns red (so the entry must be removed) once the
// stack is fixed and the script passes. Only real stack bugs belong there, never script mistakes.

import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatResult, runDrillFile } from '../../tools/drill/index.js';

const ROOT = dirname(fileURLToPath(import.meta.url));

/** Script (relative to test/drill) → the stack bug it exposes. */
const KNOWN_BUGS: Readonly<Record<string, string>> = {
};

/**
 * Script → a bug of the drill runner (tools/drill), not of the stack. Same mechanism, so the entry
 * must go when the runner is fixed.
 */
const RUNNER_BUGS: Readonly<Record<string, string>> = {
};

function findScripts(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findScripts(p));
    else if (name.endsWith('.pkt')) out.push(p);
  }
  return out;
}

const scripts = findScripts(ROOT);

describe('packetdrill suite (test/drill)', () => {
  it('has at least 80 scripts', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(80);
  });

  for (const file of scripts) {
    const name = relative(ROOT, file).split('\\').join('/');
    const bug = KNOWN_BUGS[name] ?? (RUNNER_BUGS[name] !== undefined ? `runner: ${RUNNER_BUGS[name]}` : undefined);
    const run = async (): Promise<void> => {
      const r = await runDrillFile(file);
      expect(r.status, formatResult(r)).toBe('pass');
    };
    if (bug !== undefined) it.fails(`${name} (known bug: ${bug})`, run);
    else it(name, run);
  }
});
