/** The pages that sign in, each its own OIDC redirect target. */
export const AUTH_PAGES = ['ioc', 'portal', 'workbench'] as const
export type AuthPage = (typeof AUTH_PAGES)[number]

/** The web pages' public client at the platform's own OIDC provider. */
export const CLIENT_ID = 'cityos-web'
export const SCOPE = 'openid profile phone api offline_access'
export const DISCOVERY_PATH = '/.well-known/openid-configuration'

/** Renew the access token this long before it expires, so no call goes out with a dying one. */
export const REFRESH_AHEAD_MS = 60_000

/**
 * The page's root with a trailing slash and no query: the exact redirect URI (and
 * post-logout URI) registered for the page at the provider.
 */
export function pageRoot(page: AuthPage): string {
  return `${window.location.origin}/${page}/`
}
