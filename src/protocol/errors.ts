/**
 * The one error type of the project. Every failure that reaches a user carries a stable
 * snake_case `code` (part of the public API, see docs/protocol.md) and a human message.
 * The HTTP layer maps codes to statuses in one place (src/common/error-status.ts).
 */
export class KeyPearsError extends Error {
  override readonly name = 'KeyPearsError';

  constructor(
    readonly code: string,
    message: string,
    /** Extra, non-secret facts for the client (e.g. `retryAfterSeconds`). */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

export const isKeyPearsError = (e: unknown): e is KeyPearsError => e instanceof KeyPearsError;
