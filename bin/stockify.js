#!/usr/bin/env node
// The package ships TypeScript: tsx (a dependency) compiles it as it loads.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
