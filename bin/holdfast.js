#!/usr/bin/env node
// Entry point of the `holdfast` command. A published package runs the compiled
// dist/; a checkout runs the TypeScript sources directly (Node >= 22.18 strips types).
import { existsSync } from "node:fs";
const compiled = new URL("../dist/cli/main.js", import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL("../src/cli/main.ts", import.meta.url).href);
