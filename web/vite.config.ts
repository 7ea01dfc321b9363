import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// `vite dev` serves the UI with hot reload and forwards the server's paths to a running
// `kiln server` (default port 4040; KILN_DEV_API points elsewhere).
const api = process.env['KILN_DEV_API'] ?? 'http://127.0.0.1:4040';
const proxied = ['/api', '/healthz', '/readyz', '/metrics'];

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: Object.fromEntries(proxied.map((path) => [path, { target: api, changeOrigin: true }])),
  },
});
