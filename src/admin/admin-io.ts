import type { Env } from '../config/config.js';

/** Where an admin command reads its environment and writes its output (real streams, or buffers in tests). */
export interface AdminIo {
  env: Env;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}
