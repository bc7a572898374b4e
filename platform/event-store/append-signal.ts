import { EventEmitter } from 'node:events';

/**
 * Wakes subscriptions in this process as soon as this process appends; appends made by other processes
 * are picked up by the poll timeout. Shared by every adapter.
 */
export function appendSignal() {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    notify: () => void emitter.emit('append'),
    wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          emitter.off('append', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        emitter.once('append', done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },
  };
}
