/** The JSON shape of every error response (SPEC §9). */
export interface ErrorBody {
  error: { code: string; message: string; retryAfterSeconds?: number };
}

export const errorBody = (code: string, message: string, retryAfterSeconds?: number): ErrorBody => ({
  error: retryAfterSeconds === undefined ? { code, message } : { code, message, retryAfterSeconds },
});
