import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The bundle is served by `voicedesk up` from web/dist; relative asset URLs
// (base './') keep it working under any mount path.
export default defineConfig({
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
  },
  server: {
    // `npm run dev` talks to a local `voicedesk up` for signaling.
    proxy: {
      '/session': 'http://127.0.0.1:8080',
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
