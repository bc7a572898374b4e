// A service that leaves a handle open after its graceful shutdown (shutdown.unit.test.ts runs it as a child).
import { pino } from 'pino';
import { onShutdownSignal } from './shutdown.js';

const logger = pino({ level: 'info' });
const leak = setInterval(() => {}, 1_000); // what a library might leave behind
void leak;
const stopped = onShutdownSignal({ logger, timeoutMs: 5_000, lingerMs: 300, steps: [{ name: 'app', run: async () => {} }] });
logger.info('ready');
process.exitCode = await stopped;
