import { LogController, type FastifyReply, type FastifyRequest } from "fastify";

/**
 * RequestLogController keeps Fastify's per-request lines out of the info
 * log: the call observer writes the one line per call, with the call's
 * method, protocol and status, which a request line would only repeat.
 * Plain HTTP requests (probes, scrapes) are logged at debug; failed
 * requests are still logged as Fastify does.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (error) {
      super.requestCompleted(error, request, reply, metadata);
      return;
    }
    request.log.debug({ url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime }, "request completed");
  }
}
