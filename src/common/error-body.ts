/** The JSON shape of every error response (docs/errors.md). */
export interface ErrorBody {
  error: { code: string; message: string; retryAfterSeconds?: number };
}

export const errorBody = (code: string, message: string, retryAfterSeconds?: number): ErrorBody => ({
  error: retryAfterSeconds === undefined ? { code, message } : { code, message, retryAfterSeconds },
});
