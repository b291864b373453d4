/** The one error type of the platform: a stable id, a message for people, and the HTTP status it maps to. */
export class AppError extends Error {
  constructor(
    readonly id: string,
    message: string,
    readonly status: number,
    /** Response headers that go with it (Retry-After for 429 and 503). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (message: string) => new AppError('not_found', message, 404);
export const invalidParams = (message: string) => new AppError('invalid_params', message, 422);
export const conflict = (message: string) => new AppError('conflict', message, 409);
export const unauthorized = (message: string) => new AppError('unauthorized', message, 401);
export const forbidden = (message: string) => new AppError('forbidden', message, 403);
export const badRequest = (message: string) => new AppError('bad_request', message, 400);
export const unavailable = (message: string) => new AppError('unavailable', message, 503);
/** A tenant asked for more of the platform's shared capacity than its quota (the message names the setting). */
export const insufficientStorage = (message: string) => new AppError('insufficient_storage', message, 507);
export const quotaExceeded = (message: string) => new AppError('quota_exceeded', message, 422);
export const rateLimited = (message: string, retryAfterS: number) => new AppError('rate_limit', message, 429, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterS))) });

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
