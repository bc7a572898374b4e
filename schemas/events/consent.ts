import { z } from 'zod';
import type { EventDefinition } from './define.js';

// Placeholder until the consent events land.
export const consentEvents: readonly EventDefinition[] = [];
export const ConsentEvent = z.never();
export type ConsentEvent = { type: '__consent'; data: never };
