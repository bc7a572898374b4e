// The contract every stack server module implements; stack.ts only talks to this.
import type { Health } from './proc.js';

export type ServerName = 'postgres' | 'clickhouse' | 'kafka' | 'elasticsearch';

export interface StackServer {
  readonly name: ServerName;
  // host:port or URL shown by `status`.
  address(): string;
  // Variables `annals stack env` exports for this server (addresses are fixed, so this does not
  // need the server to be running).
  env(): Record<string, string>;
  // Downloads / apt-installs what is missing; cheap when everything is cached.
  install(): Promise<void>;
  // Starts a fresh server (nothing of ours is running) and resolves once it is healthy.
  start(): Promise<void>;
  // Post-start set-up that must also hold for a reused server (e.g. databases exist).
  ensureReady?(): Promise<void>;
  // Stops the server only if the pid file points at a process we started.
  stop(): Promise<string>;
  health(): Promise<Health>;
  // Pid of our running server, or undefined (no pid file, process gone, or pid reused).
  runningPid(): number | undefined;
  // Removes a pid file whose process is gone.
  clearStalePid(): void;
  logFile(): string;
}
