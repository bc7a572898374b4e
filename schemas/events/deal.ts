import { z } from 'zod';
import type { EventDefinition } from './define.js';

// Placeholder until the deal events land.
export const dealEvents: readonly EventDefinition[] = [];
export const DealEvent = z.never();
export type DealEvent = { type: '__deal'; data: never };
