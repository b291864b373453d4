import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard: Preact (JSX through esbuild, no plugin), built into dist/dashboard and served by the api role at `/`.
const here = fileURLToPath(new URL('.', import.meta.url));
export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One small bundle: no module-preload polyfill (it would be an inline script, which the page's policy forbids).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
