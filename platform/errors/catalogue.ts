/**
 * One style for every error code: `<AREA>_ERR_<RULE>` in upper snake case, declared once per area with
 * `defineErrors`, PascalCase keys (`LeadErrorCode.AlreadyConverted`). The codes are a published
 * contract (README, OpenAPI, clients): a code string is never changed, only added.
 */
const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_ERR_[A-Z0-9]+(?:_[A-Z0-9]+)*$/;
const KEY = /^[A-Z][A-Za-z0-9]*$/;

/**
 * The codes of one area, checked when the module loads: every code is `${area}_ERR_…`, every key
 * PascalCase, no code twice. The result is the frozen map itself, so call sites read `XErrorCode.Name`.
 */
export function defineErrors<const A extends string, const C extends Readonly<Record<string, `${A}_ERR_${string}`>>>(area: A, codes: C): C {
  const seen = new Set<string>();
  for (const [key, code] of Object.entries(codes)) {
    if (!KEY.test(key)) throw new Error(`error catalogue ${area}: key "${key}" is not PascalCase`);
    if (!CODE.test(code) || !code.startsWith(`${area}_ERR_`)) throw new Error(`error catalogue ${area}: "${code}" is not ${area}_ERR_<RULE>`);
    if (seen.has(code)) throw new Error(`error catalogue ${area}: "${code}" is declared twice`);
    seen.add(code);
  }
  return Object.freeze({ ...codes });
}

/**
 * Registers the catalogues one API answers with, in one place (area → its codes), and refuses a code
 * outside its area's prefix or declared by two areas: two meanings under one code would make a client's
 * handling wrong on one of them. Returns code → area.
 */
export function registerCatalogues(catalogues: Readonly<Record<string, Readonly<Record<string, string>>>>): ReadonlyMap<string, string> {
  const byCode = new Map<string, string>();
  for (const [area, codes] of Object.entries(catalogues)) {
    for (const code of Object.values(codes)) {
      if (!CODE.test(code) || !code.startsWith(`${area}_ERR_`)) throw new Error(`error catalogue ${area}: "${code}" is not ${area}_ERR_<RULE>`);
      const other = byCode.get(code);
      if (other !== undefined) throw new Error(`error code ${code} is declared by ${other} and by ${area}`);
      byCode.set(code, area);
    }
  }
  return byCode;
}
