import type { Interceptor } from "@connectrpc/connect";

/**
 * createBearerTokenInterceptor adds `authorization: Bearer <token>` to every
 * call, unary and streaming alike.
 */
export function createBearerTokenInterceptor(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (next) => (req) => {
    req.header.set("authorization", value);
    return next(req);
  };
}
