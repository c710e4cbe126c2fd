// Lint: ESLint's and typescript-eslint's recommended rules, run first by `npm test`.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/", "client/dist/", "**/*.d.ts"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_`-prefixed names say "deliberately unused" (callback signatures, rest omissions).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // require() only where an import can't do it: a package read at run time (the client's
      // engines), a module loaded with a patched crypto (s3rver), a handler loaded lazily so the
      // Lambda archive never needs it (@smithy/node-http-handler).
      "@typescript-eslint/no-require-imports": ["error", { allow: ["package\\.json$", "^s3rver", "^@smithy/node-http-handler$"] }],
    },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["test/**/*.ts"],
    languageOptions: { globals: { ...globals.mocha } },
  },
  {
    // Tests and their tools read untyped JSON (IAM policies, workflow YAML, mocked resource state)
    // and must load the Pulumi program only after setMocks, so a late require() is their tool.
    files: ["test/**/*.ts", "tools/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-require-imports": "off" },
  },
);
