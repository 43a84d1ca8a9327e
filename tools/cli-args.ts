// Command-line option parsing for the `tunstack` CLI: `--name value` and `--name=value` pairs,
// checked against the options a command declares, with one-line errors. A 'strings' option may be
// given several times; its values are collected in order into a string[].

export interface OptionSpec {
  readonly kind: 'number' | 'string' | 'strings' | 'flag';
  readonly help: string;
  /** Inclusive bounds for numbers. */
  readonly min?: number;
  readonly max?: number;
}

export type ParsedOptions = Map<string, string | number | boolean | string[]>;

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[], specs: Readonly<Record<string, OptionSpec>>): { opts: ParsedOptions; rest: string[] } {
  const opts: ParsedOptions = new Map();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      rest.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`unknown option --${name}`);
    if (spec.kind === 'flag') {
      opts.set(name, true);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (spec.kind === 'string') {
      opts.set(name, value);
      continue;
    }
    if (spec.kind === 'strings') {
      const list = opts.get(name);
      if (Array.isArray(list)) list.push(value);
      else opts.set(name, [value]);
      continue;
    }
    const n = Number(value);
    if (!Number.isFinite(n) || (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
      throw new UsageError(`--${name} must be a number in [${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}], got ${value}`);
    }
    opts.set(name, n);
  }
  return { opts, rest };
}

export function optionsHelp(specs: Readonly<Record<string, OptionSpec>>): string {
  return Object.entries(specs)
    .map(([name, s]) => `  --${name}${s.kind === 'flag' ? '' : ` ${s.kind === 'number' ? 'N' : 'VALUE'}`}${s.kind === 'strings' ? '...' : ''}`.padEnd(22) + s.help)
    .join('\n');
}
