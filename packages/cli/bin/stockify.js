#!/usr/bin/env node
// The command runs the compiled JavaScript in dist/ (`npm run build` writes
// it; the published package ships it), so it needs no TypeScript compiler.
await import("../dist/main.js");
