import type { Duplex } from "node:stream";
import { CallEndedError } from "../errors.js";

/**
 * Typed views over grpc-js's object-mode duplex streams. grpc-js types them generically but its
 * async iterator yields `any`; these helpers keep the types, propagate backpressure (await drain
 * instead of buffering without bound) and let a caller stop iterating without destroying the call.
 */
export interface MessageSource<T> {
  /** Next message, or undefined when the peer half-closed. Rejects with the call's error. */
  next(): Promise<T | undefined>;
  [Symbol.asyncIterator](): AsyncIterator<T>;
}

export function messageSource<T>(stream: Duplex): MessageSource<T> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<T>;
  const next = async (): Promise<T | undefined> => {
    const r = await it.next();
    return r.done ? undefined : r.value;
  };
  return {
    next,
    [Symbol.asyncIterator]() {
      // No `return()`: breaking out of a for-await must not tear down the gRPC call.
      return {
        next: async () => {
          const v = await next();
          return v === undefined ? { done: true, value: undefined } : { done: false, value: v };
        },
      };
    },
  };
}

/** Writes one message; resolves once the stream can take more, so a fast producer waits for the network. */
export function writeMessage<T>(stream: Duplex, msg: T): Promise<void> {
  if (stream.destroyed || stream.writableEnded) {
    return Promise.reject(new CallEndedError("cannot send: the call has already ended"));
  }
  if (stream.write(msg)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off("drain", onDrain);
      stream.off("close", onClose);
      stream.off("error", onError);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new CallEndedError("the call ended while waiting to send"));
    const onError = (e: Error) => done(e);
    stream.on("drain", onDrain);
    stream.on("close", onClose);
    stream.on("error", onError);
  });
}

/**
 * Credit-based flow control for chunk payloads (see Ack in the proto): a sender acquires bytes
 * before sending a Chunk and the receiver's Ack releases them. gRPC's HTTP/2 window alone would
 * only bound bytes in the network, not chunks received but not yet stored.
 */
export class CreditWindow {
  private used = 0;
  private waiters: Array<{ bytes: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;
  /** Highest `inFlight` ever observed: lets tests and metrics prove the bound held. */
  peak = 0;

  constructor(readonly limit: number) {
    if (!(limit > 0)) throw new RangeError("window must be positive");
  }

  get inFlight(): number {
    return this.used;
  }

  /** A single chunk larger than the whole window is allowed alone, so a small window cannot deadlock. */
  acquire(bytes: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({ bytes, resolve, reject }));
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      this.take(w.bytes);
      w.resolve();
    }
  }

  /** Wakes every waiter with `err` (the call ended); later acquires fail the same way. */
  fail(err: Error): void {
    this.failure = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }

  private take(bytes: number): void {
    this.used += bytes;
    this.peak = Math.max(this.peak, this.used);
  }
}
