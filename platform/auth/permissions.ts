import type { Role } from '../../schemas/events/common.js';

/**
 * The roles × permissions matrix of SPEC ("Auth, roles, tenants"), shared by the command API and the
 * query API so both answer the same question the same way. A route names the permission it needs; a
 * principal has it when any of its roles grants it.
 *
 * Decisions written down here (SPEC: "as a user expects"):
 * - sales works leads, contacts and deals; marketing works leads, contacts, consents and budgets;
 *   manager and admin hold every write; dpo records consent (withdrawals arrive at the DPO) and owns
 *   erasure and export; analyst and auditor never write.
 * - merge, budget overrun override and reopening a Lost lead are manager (or admin) rights. Override and
 *   reopen depend on the command's content, so the deciders enforce them too (403 with their own codes).
 */
export const permissions = [
  'lead:write',
  'lead:reopen',
  'contact:write',
  'contact:merge',
  'deal:write',
  'consent:write',
  'budget:write',
  'budget:override',
  'subject:erase',
  'subject:export',
  'read',
  'read:personal',
  'read:audit',
] as const;
export type Permission = (typeof permissions)[number];

const everyone = ['admin', 'manager', 'sales', 'marketing', 'analyst', 'auditor', 'dpo'] as const satisfies readonly Role[];

export const permissionMatrix: Readonly<Record<Permission, readonly Role[]>> = Object.freeze({
  'lead:write': ['admin', 'manager', 'sales', 'marketing'],
  'lead:reopen': ['admin', 'manager'],
  'contact:write': ['admin', 'manager', 'sales', 'marketing'],
  'contact:merge': ['admin', 'manager'],
  'deal:write': ['admin', 'manager', 'sales'],
  'consent:write': ['admin', 'manager', 'marketing', 'sales', 'dpo'],
  'budget:write': ['admin', 'manager', 'marketing'],
  'budget:override': ['admin', 'manager'],
  'subject:erase': ['admin', 'dpo'],
  'subject:export': ['admin', 'dpo'],
  read: everyone,
  // SPEC: "analyst sees personal fields masked".
  'read:personal': ['admin', 'manager', 'sales', 'marketing', 'auditor', 'dpo'],
  // SPEC: "auditor and dpo see audit trails"; admin sees everything.
  'read:audit': ['admin', 'auditor', 'dpo'],
});

export function can(roles: readonly Role[], permission: Permission): boolean {
  const allowed = permissionMatrix[permission];
  return roles.some((r) => allowed.includes(r));
}
