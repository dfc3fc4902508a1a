import { dashboardHtml } from "./html.ts";
import { DASHBOARD_JS } from "./script.ts";
import { DASHBOARD_CSS } from "../kit/style.ts";

/**
 * The dashboard served at `GET /`: one self-contained page (inline CSS and script, no
 * CDN, no web fonts, no build step), assembled once at import and held in memory.
 *
 * @example
 * res.end(DASHBOARD_HTML);
 */
export const DASHBOARD_HTML: string = dashboardHtml(DASHBOARD_CSS, DASHBOARD_JS);
