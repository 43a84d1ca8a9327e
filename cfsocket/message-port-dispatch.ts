// The dispatch-queue side of CFMessagePortSetDispatchQueue, mapped onto Node's event loop.
//
// libdispatch is not available, so a dispatch_queue_t here is a *serial* queue of async work
// items run from Node's event loop (each item starts in a microtask after the previous one has
// finished, including any Promise it returned). dispatch_get_main_queue() is one such queue for
// the process. That is all CFMessagePort needs: "receive on a private queue, run the callout and
// send the reply asynchronously on q", serially, independent of any run loop.

export class DispatchQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(readonly label: string) {}

  /** @internal Appends work; errors are reported, never break the queue. */
  _async(fn: () => void | Promise<void>): void {
    this.tail = this.tail.then(fn).catch((e: unknown) => {
      console.error(`dispatch queue ${this.label}: work item threw`, e);
    });
  }

  /** @internal Resolves once everything queued so far has run (tests). */
  _drain(): Promise<void> { return this.tail; }
}
export type dispatch_queue_t = DispatchQueue;

let mainQueue: DispatchQueue | null = null;

/** dispatch_queue_create(label, attr): a serial queue (attributes are ignored: always serial). */
export function dispatch_queue_create(label: string | null, _attr: unknown = null): dispatch_queue_t {
  return new DispatchQueue(label ?? '');
}

/** dispatch_get_main_queue(). */
export function dispatch_get_main_queue(): dispatch_queue_t {
  if (mainQueue === null) mainQueue = new DispatchQueue('com.apple.main-thread');
  return mainQueue;
}

/** dispatch_async(q, block). */
export function dispatch_async(q: dispatch_queue_t, block: () => void | Promise<void>): void { q._async(block); }
