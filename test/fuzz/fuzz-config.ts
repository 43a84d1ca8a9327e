// How much fuzzing a test run does, from the environment:
//   TUNSTACK_FUZZ=1          the long run as well (npm run fuzz); unset, only the short run of npm test
//   TUNSTACK_FUZZ_SEED=<n>   replays one run: that seed, TUNSTACK_FUZZ_ITERS packets (or the default per run)
//   TUNSTACK_FUZZ_ITERS=<n>  packets: of the one replayed run, else of all the long runs together
//                            (all the short runs together when TUNSTACK_FUZZ is unset)

export const LONG = process.env.TUNSTACK_FUZZ === '1' || process.env.TUNSTACK_FUZZ === 'true';

function envInt(name: string): number | null {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return null;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

export const SEED = envInt('TUNSTACK_FUZZ_SEED');
export const ITERS = envInt('TUNSTACK_FUZZ_ITERS');

/** First seed of the short runs; the long runs start further on, so they add coverage. */
export const BASE_SEED = 20261121;
export const LONG_BASE_SEED = BASE_SEED + 1000;

export interface FuzzPlan {
  readonly seeds: readonly number[];
  readonly packetsPerRun: number;
}

function plan(base: number, runs: number, perRun: number, defaultTotal: number, itersApply: boolean): FuzzPlan {
  if (SEED !== null) return { seeds: [SEED], packetsPerRun: ITERS ?? perRun };
  const total = (itersApply ? ITERS : null) ?? defaultTotal;
  const n = Math.max(1, Math.min(runs, Math.ceil(total / perRun)));
  return { seeds: Array.from({ length: n }, (_, i) => base + i), packetsPerRun: Math.ceil(total / n) };
}

/** npm test: a few seeds, a few thousand packets in all. */
export const SHORT_PLAN = plan(BASE_SEED, 3, 2000, 6000, !LONG);
/** npm run fuzz: 200k packets over 40 seeds (5000 per run) by default. */
export const LONG_PLAN = plan(LONG_BASE_SEED, 1000, 5000, 200_000, LONG);
