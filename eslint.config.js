// ESLint (flat config): the browser client's ES modules and their node:test unit tests. `make lint` runs it.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "cdk.out/", ".venv/", "tests/e2e/", "infra/"] },
  js.configs.recommended,
  {
    files: ["frontend/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: { ...globals.browser } },
  },
  {
    // The page's one classic script (it runs before the modules).
    files: ["frontend/js/early.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    // Injected into pages by the benchmarks as classic scripts.
    files: ["bench/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "script", globals: { ...globals.browser } },
    rules: { "no-empty": ["error", { allowEmptyCatch: true }] }, // a frame that is not JSON is simply not parsed
  },
  {
    // The textbook baseline page is an ES module of its own (top-level await), served by bench/userpath.py.
    files: ["bench/baseline/**/*.js"],
    languageOptions: { sourceType: "module" },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: { ...globals.node } },
  },
];
