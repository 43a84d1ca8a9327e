// Instants and durations: microseconds on a monotonic clock with an arbitrary origin.
// Every entry point of the stack takes or reads an Instant; nothing here reads a real clock.

export type Instant = number;

export const US_PER_MS = 1000;
export const US_PER_SEC = 1_000_000;

export const msToUs = (ms: number): number => Math.round(ms * US_PER_MS);
export const secToUs = (s: number): number => Math.round(s * US_PER_SEC);
export const addMs = (t: Instant, ms: number): Instant => t + Math.round(ms * US_PER_MS);
