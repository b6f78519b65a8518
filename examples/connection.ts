/**
 * exampleOptions reads where the examples find the gateway:
 * STOCKIFY_URL (default http://127.0.0.1:50051) and STOCKIFY_TOKEN (optional).
 */
export function exampleOptions() {
  return {
    baseUrl: process.env.STOCKIFY_URL ?? "http://127.0.0.1:50051",
    token: process.env.STOCKIFY_TOKEN,
  };
}

/** updateLimit is how many updates a streaming example prints before it exits (UPDATES, default 10). */
export const updateLimit = Number(process.env.UPDATES ?? 10);
