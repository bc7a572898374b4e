import { dealIntervalsSuite } from './deal-intervals.testing.js';
import { throwawayServerEngine } from '../testing.js';

// The ClickHouse server from `annals stack` (Debian's 18.16): the same suite as chDB, a fresh database per run, dropped after.
dealIntervalsSuite('ClickHouse server', () => throwawayServerEngine('annals_it'));
