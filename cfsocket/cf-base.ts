// CoreFoundation's object conventions (CFBase.h, CFRuntime.c) for the TypeScript port.
//
// * Every CF object extends CFType and carries a CFTypeID (one per class, registered on first use)
//   and a retain count.
// * The Create Rule: a function whose name contains "Create" or "Copy" hands the caller one
//   reference (retain count 1 for a new object); the caller balances it with CFRelease. The Get
//   Rule: "Get" functions return a reference the caller does not own.
// * CFRelease of the last reference finalizes the object (its `_cfFinalize` hook: release what it
//   holds); the GC frees the memory. Using an object after its last release is a programming error
//   (in C a crash); here CFRetain/CFRelease of a finalized object throw.
// * CFEqual/CFHash are per class (`_cfEqual`/`_cfHash`; default: identity). CFCopyDescription and
//   CFShow give a readable description.
// * NULL is `null`. CFIndex, CFTypeID, CFOptionFlags are plain numbers.
//
// Allocators: CFAllocatorRef decides *which KPI kernel* (which stack) a CF function that creates a
// socket uses (see CFAllocatorCreateForKernel); memory itself is the GC's business.

import type { KpiKernel } from '../kpi/index.js';

export type CFIndex = number;
export type CFTypeID = number;
export type CFOptionFlags = number;
export type CFHashCode = number;
/** Seconds since 2001-01-01T00:00:00Z. */
export type CFAbsoluteTime = number;
/** Seconds. */
export type CFTimeInterval = number;
export type Boolean_ = boolean;

/** kCFNotFound. */
export const kCFNotFound = -1;

export interface CFRange { location: CFIndex; length: CFIndex }
export const CFRangeMake = (location: CFIndex, length: CFIndex): CFRange => ({ location, length });

/** Seconds between the Unix epoch and 2001-01-01 (kCFAbsoluteTimeIntervalSince1970). */
export const kCFAbsoluteTimeIntervalSince1970 = 978307200.0;

// ---- the runtime: type registry ----

const typeNames: string[] = ['CFNotAType'];

/** Registers a CF class and returns its CFTypeID (_CFRuntimeRegisterClass). */
export function _CFRuntimeRegisterClass(name: string): CFTypeID {
  typeNames.push(name);
  return typeNames.length - 1;
}

/** The class name of a type ID (as CFCopyTypeIDDescription). */
export function CFCopyTypeIDDescription(id: CFTypeID): string {
  return typeNames[id] ?? `<unknown type ${id}>`;
}

/** The root of every CF object: type ID, retain count, finalization. */
export abstract class CFType {
  /** @internal */ _rc = 1;
  /** @internal */ _finalized = false;
  /** This object's CFTypeID. */
  abstract get _cfTypeID(): CFTypeID;
  /** Called once when the last reference is released. */
  protected _cfFinalize(): void {}
  /** CFEqual for two objects of the same type (default: identity). */
  _cfEqual(other: CFType): boolean { return this === other; }
  /** CFHash (default: a per-object serial). */
  _cfHash(): CFHashCode { return this._serial; }
  /** CFCopyDescription. */
  _cfDescription(): string { return `<${CFCopyTypeIDDescription(this._cfTypeID)} ${this._serial}>`; }
  /** @internal */ readonly _serial: number = nextSerial++;

  /** @internal */ _cfDealloc(): void {
    if (this._finalized) return;
    this._finalized = true;
    this._cfFinalize();
  }
}
let nextSerial = 1;

/** CFTypeRef. */
export type CFTypeRef = CFType;

function live(cf: CFType | null | undefined, fn: string): CFType {
  if (cf === null || cf === undefined) throw new TypeError(`${fn}: NULL argument`);
  if (cf._finalized) throw new Error(`${fn}: object was already deallocated (over-release)`);
  return cf;
}

/** CFRetain: one more reference; returns the object. */
export function CFRetain<T extends CFType>(cf: T): T {
  live(cf, 'CFRetain')._rc++;
  return cf;
}

/** CFRelease: drops a reference; the last one finalizes the object. */
export function CFRelease(cf: CFType): void {
  const o = live(cf, 'CFRelease');
  o._rc--;
  if (o._rc === 0) o._cfDealloc();
}

/** CFAutorelease: there is no autorelease pool; returns the object unchanged (documented deviation). */
export function CFAutorelease<T extends CFType>(cf: T): T { return cf; }

/** CFGetRetainCount. */
export function CFGetRetainCount(cf: CFType): CFIndex { return live(cf, 'CFGetRetainCount')._rc; }

/** CFGetTypeID. */
export function CFGetTypeID(cf: CFType): CFTypeID { return live(cf, 'CFGetTypeID')._cfTypeID; }

/** CFEqual: same type and equal by that type's rule. */
export function CFEqual(a: CFType, b: CFType): boolean {
  if (a === b) return true;
  if (a._cfTypeID !== b._cfTypeID) return false;
  return a._cfEqual(b);
}

/** CFHash: equal objects hash equally. */
export function CFHash(cf: CFType): CFHashCode { return cf._cfHash() >>> 0; }

/** CFCopyDescription. */
export function CFCopyDescription(cf: CFType | null): string { return cf === null ? '(null)' : cf._cfDescription(); }

/** CFShow: writes the description to the console (stderr in C). */
export function CFShow(cf: CFType | null): void {
  console.error(CFCopyDescription(cf));
}

// ---- allocators: which KPI kernel ----

/**
 * CFAllocatorRef. In this port an allocator's job is to name the KPI kernel (the stack) that
 * functions creating sockets (CFSocketCreate and friends) use. `null` (NULL) and
 * kCFAllocatorDefault mean the current default allocator (CFAllocatorGetDefault).
 */
export class CFAllocator extends CFType {
  static readonly typeID = _CFRuntimeRegisterClass('CFAllocator');
  get _cfTypeID(): CFTypeID { return CFAllocator.typeID; }
  /** @internal */
  constructor(readonly name: string, readonly kernel: KpiKernel | null) { super(); }
  override _cfDescription(): string { return `<CFAllocator ${this.name}${this.kernel ? ` kernel=${this.kernel.name}` : ''}>`; }
}
export type CFAllocatorRef = CFAllocator | null;

/** kCFAllocatorDefault: NULL, "use the default allocator". */
export const kCFAllocatorDefault: CFAllocatorRef = null;
/** kCFAllocatorSystemDefault: bound to no kernel (socket creation through it fails with NULL). */
export const kCFAllocatorSystemDefault = new CFAllocator('kCFAllocatorSystemDefault', null);
/** kCFAllocatorNull: never frees (CFDataCreateWithBytesNoCopy); no kernel. */
export const kCFAllocatorNull = new CFAllocator('kCFAllocatorNull', null);
/** kCFAllocatorMalloc: as the system default. */
export const kCFAllocatorMalloc = kCFAllocatorSystemDefault;

let defaultAllocator: CFAllocator = kCFAllocatorSystemDefault;

/**
 * A CFAllocator bound to a KPI kernel: sockets created with it live on that kernel's stack.
 * (Port-specific; CF has CFAllocatorCreate with a context of malloc-style callbacks.)
 */
export function CFAllocatorCreateForKernel(kernel: KpiKernel, name = `kernel:${kernel.name}`): CFAllocator {
  return new CFAllocator(name, kernel);
}

/** CFAllocatorGetDefault (Get Rule). */
export function CFAllocatorGetDefault(): CFAllocator { return defaultAllocator; }

/**
 * CFAllocatorSetDefault: makes `a` the default for NULL/kCFAllocatorDefault. As in CF, the default
 * is per thread and settable at any time; pass kCFAllocatorSystemDefault to unbind.
 */
export function CFAllocatorSetDefault(a: CFAllocator | null): void {
  if (a === null) return; // CF ignores NULL
  CFRetain(a);
  const old = defaultAllocator;
  defaultAllocator = a;
  if (old !== kCFAllocatorSystemDefault && old !== kCFAllocatorNull && !old._finalized) CFRelease(old);
}

/** The allocator an argument means: itself, or the default for NULL. */
export function _CFAllocatorResolve(a: CFAllocatorRef | undefined): CFAllocator {
  return a === null || a === undefined ? defaultAllocator : a;
}

/** The KPI kernel an allocator argument names, or null (then socket creation fails with NULL). */
export function _CFAllocatorKernel(a: CFAllocatorRef | undefined): KpiKernel | null {
  return _CFAllocatorResolve(a).kernel;
}

/** CFAllocatorGetTypeID. */
export function CFAllocatorGetTypeID(): CFTypeID { return CFAllocator.typeID; }
