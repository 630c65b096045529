import { defineConfig } from 'vite';

// The daemon serves dist/ under a strict CSP: no inline scripts, nothing from elsewhere.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2020',
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8025' } },
});
