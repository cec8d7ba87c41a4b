/**
 * A node's log stream captured in the test process (createNode's `logDestination`): every
 * line must be one JSON object, as docs/operators.md ("Logs") promises.
 */
import { expect } from '@jest/globals';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface LogCapture {
  /** The stream to give createNode() (or startTestNode's overrides). */
  destination: { write(chunk: string): void };
  /** Every line so far, each parsed (the test fails on a line that is not JSON). */
  lines(): LogLine[];
  /** The lines whose `msg` matches. */
  matching(msg: RegExp): LogLine[];
}

export function captureLogs(): LogCapture {
  let text = '';
  const lines = () =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        let parsed: unknown;
        expect(() => (parsed = JSON.parse(line))).not.toThrow();
        expect(parsed).toEqual(expect.objectContaining({ level: expect.any(Number), msg: expect.any(String) }));
        return parsed as LogLine;
      });
  return {
    destination: { write: (chunk: string) => void (text += chunk) },
    lines,
    matching: (msg) => lines().filter((l) => msg.test(l.msg)),
  };
}
