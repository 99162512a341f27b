import { createApp, type Component } from 'vue'
import { loadMe } from '../auth/account'
import type { AuthPage } from '../auth/config'
import { session, startSession } from '../auth/session'
import { createAppI18n } from './i18n'
import './base.css'

export interface MountOptions {
  titleKey: string
  /** The page's name at the OIDC provider, and whether it needs a signed-in person. */
  auth: { page: AuthPage; required: boolean }
}

/**
 * Start one page: finish or start its sign-in, then mount its root component with the
 * shared i18n on #app. A page that needs sign-in and failed to start one mounts to say why.
 */
export async function mountPage(root: Component, options: MountOptions): Promise<void> {
  const i18n = createAppI18n({ titleKey: options.titleKey })
  const outcome = await startSession({
    ...options.auth,
    locale: () => i18n.global.locale.value,
  })
  if (outcome === 'redirecting' && session.status === 'redirecting') {
    // The browser is on its way to the provider: mounting now would only start requests
    // that the navigation cuts off.
    return
  }
  void loadMe()
  const app = createApp(root)
  app.use(i18n)
  app.mount('#app')
}
