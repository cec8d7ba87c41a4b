/** How the case files declare their cases: one section, many named cases. */
import type { Context } from '../context.js';
import type { Case, Need } from '../harness.js';

export type ConformanceCase = Case<Context>;

/** A case maker for one document section: `(name, run, needs?)`. */
export function casesOf(section: string) {
  return (name: string, run: (ctx: Context) => Promise<void>, needs?: readonly Need[]): ConformanceCase => ({
    name,
    section,
    run,
    ...(needs ? { needs } : {}),
  });
}
