import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))

// One build, three pages. The Python app serves dist/<page>/ at /<page>/ and dist/assets/
// at /assets/, so nothing may rely on files at the site root (hence no public/ folder).
export default defineConfig({
  root: here('.'),
  base: '/',
  publicDir: false,
  plugins: [vue()],
  define: {
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_DROP_MESSAGE_COMPILER__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    rolldownOptions: {
      input: {
        ioc: here('ioc/index.html'),
        portal: here('portal/index.html'),
        workbench: here('workbench/index.html'),
      },
      output: {
        // Vue and vue-i18n change less often than our code: one cacheable vendor file.
        // Leaflet stays out of it: only the workbench map loads it, on demand.
        codeSplitting: {
          groups: [
            { name: 'leaflet', test: /node_modules[\\/]leaflet[\\/]/ },
            // The IOC's charts load on demand: the other pages never fetch them.
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender)[\\/]/ },
            { name: 'vendor', test: /node_modules[\\/](?!leaflet[\\/]|echarts[\\/]|zrender[\\/])/ },
          ],
        },
      },
    },
  },
  server: {
    // `npm run dev` talks to a `cityos serve` running on its default port, sign-in included
    // (the provider must then accept the dev server's origin in its redirect URIs).
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/healthz': 'http://127.0.0.1:8000',
      '/.well-known': 'http://127.0.0.1:8000',
      '/oidc': 'http://127.0.0.1:8000',
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    restoreMocks: true,
    unstubGlobals: true,
  },
})
