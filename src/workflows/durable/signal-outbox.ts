// Workflow sandbox: imports only @temporalio/workflow, never Node.
import { getExternalWorkflowHandle, type SignalDefinition } from '@temporalio/workflow';

/** One message a controller signals to one run. */
export interface OutboxMessage<M, T = unknown> {
  /** Messages with the same id replace each other while unsent (the latest answer wins). */
  id: string;
  workflowId: string;
  runId: string | undefined;
  signal: SignalDefinition<[M]> | SignalDefinition<[]>;
  /** The signal's argument; `undefined` for a signal without one. */
  payload: M | undefined;
  /** What the message stands for, for the sender (carried along, never sent). */
  tag: T;
}

/**
 * Outgoing signals of a long-lived workflow that must survive continue-as-new: messages wait here
 * until the caller {@link flush}es them (as many as its history budget allows), are tracked while in
 * flight, and whatever is unsent or in flight can be {@link carry | carried} into the next run and sent
 * again there (a signal in flight when its sender closes is not delivered). Receivers must therefore
 * take a message twice as once. A message the server refuses to deliver (the target is closed) goes to
 * `onUndeliverable`.
 *
 * @example
 * ```ts
 * import { defineSignal } from '@temporalio/workflow';
 * import { SignalOutbox } from 'slotwise/internal/workflows/durable/signal-outbox.js';
 *
 * const hello = defineSignal<[string]>('hello');
 * export async function greeter(): Promise<void> {
 *   const outbox = new SignalOutbox<string>(() => undefined);
 *   outbox.push({ id: 'a', workflowId: 'friend', runId: undefined, signal: hello, payload: 'hi', tag: undefined });
 *   outbox.flush(10); // => 1 signal sent
 * }
 * ```
 */
export class SignalOutbox<M, T = unknown> {
  readonly #unsent = new Map<string, OutboxMessage<M, T>>();
  readonly #inflight = new Map<number, OutboxMessage<M, T>>();
  #sequence = 0;

  constructor(private readonly onUndeliverable: (message: OutboxMessage<M, T>) => void) {}

  /** Queues `message`, replacing an unsent one with the same id. */
  push(message: OutboxMessage<M, T>): void {
    this.#unsent.delete(message.id);
    this.#unsent.set(message.id, message);
  }

  /** Messages waiting to be sent. */
  get unsent(): number {
    return this.#unsent.size;
  }

  /** Messages sent whose delivery is not known yet. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Nothing unsent and nothing in flight. */
  get empty(): boolean {
    return this.#unsent.size === 0 && this.#inflight.size === 0;
  }

  /** Sends up to `limit` messages, oldest first; returns how many (one command each). */
  flush(limit: number): number {
    let sent = 0;
    for (const [id, message] of this.#unsent) {
      if (sent >= limit) break;
      this.#unsent.delete(id);
      const sequence = this.#sequence++;
      this.#inflight.set(sequence, message);
      const target = getExternalWorkflowHandle(message.workflowId, message.runId);
      const delivery =
        message.payload === undefined
          ? target.signal(message.signal as SignalDefinition<[]>)
          : target.signal(message.signal as SignalDefinition<[M]>, message.payload);
      delivery.then(
        () => this.#inflight.delete(sequence),
        () => {
          this.#inflight.delete(sequence);
          this.onUndeliverable(message);
        },
      );
      sent++;
    }
    return sent;
  }

  /** Everything unsent or in flight, oldest first, to send again after a continue-as-new. */
  carry(): OutboxMessage<M, T>[] {
    return [...this.#inflight.values(), ...this.#unsent.values()];
  }
}
