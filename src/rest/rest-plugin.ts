import { Code, ConnectError } from "@connectrpc/connect";
import scalarApiReference from "@scalar/fastify-api-reference";
import type { FastifyError, FastifyInstance } from "fastify";
import { HttpStatusError } from "../pipeline/http-errors.js";
import type { GatewayServices } from "../pipeline/service-registry.js";
import { loadApiComments } from "./api-comments.js";
import { API_EXAMPLES } from "./api-examples.js";
import { collectHttpBindings } from "./http-bindings.js";
import { createOpenApiDocument } from "./openapi.js";
import { RequestInputError } from "./request-message.js";
import { mountRestRoutes } from "./rest-routes.js";
import { registerRestRateLimit, type RateLimitConfig } from "./rest-rate-limit.js";
import type { StreamBudget } from "../pipeline/stream-budget.js";
import type { AnswerCompression } from "./answer-compression.js";
import { errorAnswer } from "./unary-answer.js";

/**
 * RestPluginOptions configure the REST transcoder.
 */
export interface RestPluginOptions {
  /** Services and interceptors to serve. Default: the app's `services` decoration. */
  services?: GatewayServices;
  /** Largest request body accepted, in bytes; larger ones get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Longest deadline a caller may ask for with the timeout header, in milliseconds. Default: no limit. */
  maxTimeoutMs?: number;
  /** The process's budget for bytes held by streams whose clients do not read. Default: none. */
  streamBudget?: StreamBudget;
  /** Path of the OpenAPI document. Default "/openapi.json". */
  openApiPath?: `/${string}`;
  /** Path of the interactive API reference page. Default "/docs". */
  docsPath?: `/${string}`;
  /** Requests per client address on the API routes (not the document or the page). Default: no limit. */
  rateLimit?: RateLimitConfig;
  /** Tells from a call's service and `authorization` header whether auth refuses it, before its body is read. Default: none. */
  refuses?: (service: string, authorization: string | undefined) => boolean;
  /** How API answers are compressed for callers that accept it. Default: not at all. */
  compression?: AnswerCompression;
}

/**
 * restPlugin serves every google.api.http rule of the gateway's services as
 * REST routes, through the same interceptor chain as every other protocol,
 * with their OpenAPI 3.1 description and an interactive reference page.
 *
 * Registered without fastify-plugin on purpose: its body parser (raw bytes,
 * parsed here as proto3 JSON) and its JSON error handler stay inside it.
 */
export async function restPlugin(app: FastifyInstance, options: RestPluginOptions = {}): Promise<void> {
  const services = options.services ?? app.services;
  const bindings = collectHttpBindings(services.registrations);
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: maxBodyBytes }, (_request, body, done) => {
    done(null, body);
  });
  app.setErrorHandler((error, request, reply) => {
    const answer = errorAnswer(asConnectError(error, maxBodyBytes), undefined);
    if (answer.status >= 500) request.log.error({ err: error }, "REST call failed");
    for (const [name, value] of answer.headers) reply.header(name, value);
    reply.code(answer.status).send(answer.body);
  });

  // The API routes alone are limited: the document and the reference page
  // are static, and a page that loads them should not spend the budget.
  const { rateLimit } = options;
  await app.register(async (routes) => {
    if (rateLimit !== undefined) await registerRestRateLimit(routes, rateLimit);
    mountRestRoutes(routes, bindings, services.interceptors, {
      maxTimeoutMs: options.maxTimeoutMs,
      streamBudget: options.streamBudget,
      refuses: options.refuses,
      compression: options.compression,
    });
  });

  const openApiPath = options.openApiPath ?? "/openapi.json";
  const document = JSON.stringify(createOpenApiDocument(bindings, { comments: loadApiComments(), examples: API_EXAMPLES }));
  app.get(openApiPath, (_request, reply) => {
    reply.type("application/json; charset=utf-8").send(document);
  });
  await app.register(scalarApiReference, {
    routePrefix: options.docsPath ?? "/docs",
    // Self-contained: no fonts from another host, no telemetry, and none of
    // the buttons that lead to hosted services (AI agent, MCP, deploy and
    // share), so the page works, and says nothing, on a network without an
    // outside. The test client it opens runs in the page itself.
    configuration: {
      url: openApiPath,
      pageTitle: "Stockify Gateway REST API",
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      mcp: { disabled: true },
      showDeveloperTools: "never",
    },
    logLevel: "warn",
  });
}

function asConnectError(error: unknown, maxBodyBytes: number): unknown {
  if (error instanceof ConnectError) return error;
  if (error instanceof RequestInputError) return new ConnectError(quotingAtMost(error.message, QUOTE_LIMIT), Code.InvalidArgument);
  const status = (error as FastifyError).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    // Fastify's own rejections: body too large, bad framing.
    const message = status === 413 ? `request body is larger than ${maxBodyBytes} bytes` : (error as Error).message;
    return new HttpStatusError(message, status === 413 ? Code.ResourceExhausted : Code.InvalidArgument, status);
  }
  return error;
}

/** Longest word of a caller's input an error message quotes whole. */
const QUOTE_LIMIT = 128;

// Input errors quote what the caller sent (a parameter name, a value); one
// of a megabyte must not come back in full, in the answer or the logs.
function quotingAtMost(message: string, limit: number): string {
  return message.replace(new RegExp(`\\S{${limit + 1},}`, "g"), (word) => `${word.slice(0, limit)}…`);
}
