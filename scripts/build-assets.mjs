// Copies the front-end libraries Guanxi serves from node_modules into build/vendor.
// Nothing is loaded from a CDN: the app works on an intranet without internet access.
import { cpSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build", "vendor");
const files = {
  "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
  "alpinejs/dist/cdn.min.js": "alpinejs/alpine.min.js",
  "bootstrap/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
  "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
  "bootstrap-icons/font/bootstrap-icons.min.css": "bootstrap-icons/bootstrap-icons.min.css",
  "bootstrap-icons/font/fonts": "bootstrap-icons/fonts",
  "echarts/dist/echarts.min.js": "echarts/echarts.min.js",
  "sortablejs/Sortable.min.js": "sortablejs/Sortable.min.js",
  "tom-select/dist/js/tom-select.complete.min.js": "tom-select/tom-select.complete.min.js",
  "tom-select/dist/css/tom-select.bootstrap5.min.css": "tom-select/tom-select.bootstrap5.min.css",
};
rmSync(out, { recursive: true, force: true });
for (const [from, to] of Object.entries(files)) {
  const src = join(root, "node_modules", from);
  if (!existsSync(src)) throw new Error(`missing ${src}: run npm ci first`);
  mkdirSync(dirname(join(out, to)), { recursive: true });
  cpSync(src, join(out, to), { recursive: true });
  // Source maps travel with their files: the files name them, and collectstatic's manifest
  // storage refuses to hash a file whose referenced map is missing.
  if (existsSync(`${src}.map`)) cpSync(`${src}.map`, join(out, `${to}.map`));
}
console.log(`front-end libraries copied to ${out}`);
