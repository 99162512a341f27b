import { createApp, type Component } from 'vue'
import { createAppI18n } from './i18n'
import './base.css'

/** Start one page: its root component, the shared i18n, mounted on #app. */
export function mountPage(root: Component, options: { titleKey: string }): void {
  const app = createApp(root)
  app.use(createAppI18n({ titleKey: options.titleKey }))
  app.mount('#app')
}
