/**
 * The conformance suite (docs/conformance.md): drives a node from the outside, as its clients
 * and as a federation peer, over every documented behaviour, one named case each. Built from
 * src/protocol, src/sdk and src/net only, so that it tests the wire, not the code.
 */
import { ALL_CASES } from './cases/index.js';
import { Context, type ConformanceOptions } from './context.js';
import { resultLine, runCases, selectCases, type CaseResult, type Line, type Report } from './harness.js';

export type { ConformanceOptions } from './context.js';

export interface RunOptions extends ConformanceOptions {
  /** Run only the cases whose name or section contains one of these (case-insensitive). */
  filters?: readonly string[];
  /** Notes for people (`# ...`: what the node under test needs); stdout by default. */
  print?: Line;
  /** Each result as its case ends; by default its line goes to `print`. */
  onResult?: (result: CaseResult) => void;
}

/** The cases a run with these filters takes, with their sections, without running anything. */
export function listCases(filters: readonly string[] = []): Array<{ name: string; section: string }> {
  return selectCases(ALL_CASES, filters).map(({ name, section }) => ({ name, section }));
}

/** Runs the selected cases against the node; resolves to every result and the totals. */
export async function runConformance(opts: RunOptions): Promise<Report> {
  const print = opts.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const onResult = opts.onResult ?? ((result: CaseResult) => print(resultLine(result)));
  const cases = selectCases(ALL_CASES, opts.filters ?? []);
  const ctx = await Context.open(opts, print);
  try {
    return await runCases(cases, ctx, ctx.available, onResult);
  } finally {
    await ctx.close();
  }
}
