import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chdbEngine } from '../../../platform/analytics/chdb.js';
import { analystQuestionsSuite } from './analyst-questions.testing.js';

analystQuestionsSuite('chDB', async () => chdbEngine({ path: join(await mkdtemp(join(tmpdir(), 'annals-chdb-q-')), 'analytics'), database: 'annals' }));
