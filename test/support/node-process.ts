/**
 * A node in a process of its own, started as an operator starts it (`src/main.ts` run from
 * the sources through ./ts-register.mjs, so no build is needed): its exit status, its standard
 * output (the log stream, JSON lines) and its standard error, for what only a whole process
 * shows (signals, start-up failures, what reaches the terminal).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeProcess {
  child: ChildProcess;
  /** Everything written to standard output so far. */
  stdout(): string;
  stderr(): string;
  /** Standard output's lines, each parsed as JSON (a line that is not JSON throws). */
  logLines(): Array<Record<string, unknown>>;
  exited: Promise<Exit>;
  /** Resolves once a log line's `msg` matches (or throws after `timeoutMs`, or when the process exits). */
  logged(msg: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Standard output's lines parsed as JSON; throws naming the first line that is not. */
export function parseLogLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`a line of the log stream is not JSON: ${line}`);
      }
    });
}

const started = new Set<ChildProcess>();

/** Kills (SIGKILL) the node processes of this test file that are still running: after a failed test. */
export function killLeftNodes(): void {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  started.clear();
}

/** Starts `node src/main.ts` with exactly `env` (plus PATH): nothing of the test's environment leaks in. */
export function spawnNode(env: Record<string, string>): NodeProcess {
  const child = spawn(process.execPath, ['--import', './test/support/ts-register.mjs', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  const logLines = () => parseLogLines(stdout);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    logLines,
    exited,
    async logged(msg, timeoutMs = 120_000) {
      // Polls what the process wrote (real I/O), bounded.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = logLines().find((l) => typeof l.msg === 'string' && msg.test(l.msg));
        if (line) return line;
        if (done) throw new Error(`the node exited before logging ${msg}:\n${stdout}\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`no log line ${msg} after ${timeoutMs} ms:\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Runs a node that is expected to refuse to start: its exit and output, or a failure after `timeoutMs`. */
export async function runUntilExit(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<Exit & { stdout: string; stderr: string }> {
  const node = spawnNode(env);
  const timer = setTimeout(() => node.child.kill('SIGKILL'), timeoutMs);
  try {
    const exit = await node.exited;
    return { ...exit, stdout: node.stdout(), stderr: node.stderr() };
  } finally {
    clearTimeout(timer);
  }
}
