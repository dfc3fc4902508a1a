import { readFileSync } from "node:fs";

/**
 * The dashboard's script, `dashboard.js` beside this file (plain browser JavaScript,
 * linted as such, no build step): renders each overview from `/api/events` into keyed
 * rows, updating cells in place so hover tips and a weight being typed survive the 1 s
 * refresh; draws the sparklines as inline SVG; and sends the server actions with the
 * token kept in sessionStorage. Every name from the config goes through textContent,
 * never innerHTML. Read once at import; `npm run build` copies it into dist/.
 *
 * @example
 * `<script>${DASHBOARD_JS}</script>`
 */
export const DASHBOARD_JS: string = readFileSync(new URL("./dashboard.js", import.meta.url), "utf8");
