// CFRunLoop (CFRunLoop.h; swift-corelibs CFRunLoop.c __CFRunLoopRun) on Node's event loop: the
// public module, re-exporting the parts that live in cf-runloop-*.ts.
//
// Node has one thread and cannot block, so a *run* is asynchronous: CFRunLoopRunInMode returns a
// Promise of its CFRunLoopRunResult and CFRunLoopRun a Promise<void>. Everything else keeps CF's
// observable contract. The parts:
//   cf-runloop-clock.ts     time: real time or a KPI kernel's (virtual) stack clock
//   cf-runloop-mode.ts      mode names and what one mode holds
//   cf-runloop-source.ts    CFRunLoopSource (version 0: signalled; version 1: port messages)
//   cf-runloop-timer.ts     CFRunLoopTimer
//   cf-runloop-schedule.ts  adding sources, timers and blocks to modes; common modes
//   cf-runloop-run.ts       CFRunLoop itself and its run (__CFRunLoopRun), stop, wake-up

export { CFAbsoluteTimeGetCurrent, kCFRunLoopRealClock, kpiKernelClock } from './cf-runloop-clock.js';
export type { CFRunLoopClock } from './cf-runloop-clock.js';
export { kCFRunLoopCommonModes, kCFRunLoopDefaultMode } from './cf-runloop-mode.js';
export type { CFRunLoopMode, CFStringRef } from './cf-runloop-mode.js';
export {
  CFRunLoopSource, CFRunLoopSourceCreate, CFRunLoopSourceGetContext, CFRunLoopSourceGetOrder, CFRunLoopSourceGetTypeID,
  CFRunLoopSourceInvalidate, CFRunLoopSourceIsSignalled, CFRunLoopSourceIsValid, CFRunLoopSourceSignal, CFRunLoopSourceSignalPort,
} from './cf-runloop-source.js';
export type { CFRunLoopSourceContext, CFRunLoopSourceContext1, CFRunLoopSourceRef } from './cf-runloop-source.js';
export {
  CFRunLoopTimer, CFRunLoopTimerCreate, CFRunLoopTimerCreateWithHandler, CFRunLoopTimerDoesRepeat, CFRunLoopTimerGetContext,
  CFRunLoopTimerGetInterval, CFRunLoopTimerGetNextFireDate, CFRunLoopTimerGetOrder, CFRunLoopTimerGetTypeID,
  CFRunLoopTimerInvalidate, CFRunLoopTimerIsValid, CFRunLoopTimerSetNextFireDate,
} from './cf-runloop-timer.js';
export type { CFRunLoopTimerCallBack, CFRunLoopTimerContext, CFRunLoopTimerRef } from './cf-runloop-timer.js';
export {
  CFRunLoopAddCommonMode, CFRunLoopAddSource, CFRunLoopAddTimer, CFRunLoopContainsSource, CFRunLoopContainsTimer,
  CFRunLoopCopyAllModes, CFRunLoopCopyCurrentMode, CFRunLoopGetNextTimerFireDate, CFRunLoopPerformBlock,
  CFRunLoopRemoveSource, CFRunLoopRemoveTimer,
} from './cf-runloop-schedule.js';
export {
  CFRunLoop, CFRunLoopCreateWithClock, CFRunLoopGetClock, CFRunLoopGetCurrent, CFRunLoopGetMain, CFRunLoopGetTime,
  CFRunLoopGetTypeID, CFRunLoopIsWaiting, CFRunLoopRun, CFRunLoopRunInMode, CFRunLoopSetClock, CFRunLoopStop, CFRunLoopWakeUp,
  kCFRunLoopRunFinished, kCFRunLoopRunHandledSource, kCFRunLoopRunStopped, kCFRunLoopRunTimedOut,
} from './cf-runloop-run.js';
export type { CFRunLoopRef, CFRunLoopRunResult } from './cf-runloop-run.js';
