/**
 * The tab's sign-in session: one reactive state every component reads, the start-up that
 * finishes a return from the provider, and the access token for API calls, renewed ahead of
 * expiry and after a 401 (once, shared by every call that got one).
 */
import { reactive, readonly } from 'vue'
import { REFRESH_AHEAD_MS, type AuthPage } from './config'
import {
  authorizationUrl,
  completeSignIn,
  endSessionUrl,
  isAuthorizationReturn,
  RefreshRejected,
  refreshTokens,
  SignInError,
} from './oidc'
import { clearTokens, readTokens, writeTokens, type StoredTokens } from './storage'

export type SessionStatus = 'anonymous' | 'signed-in' | 'redirecting' | 'failed'

interface SessionState {
  status: SessionStatus
  tokens: StoredTokens | null
  /** Why the last sign-in failed, shown by the page with a way to try again. */
  error: SignInError | null
}

interface SessionConfig {
  page: AuthPage
  /** The page is useless signed out: send the person to the provider. */
  required: boolean
  locale: () => string
  navigate: (url: string) => void
}

const state = reactive<SessionState>({ status: 'anonymous', tokens: null, error: null })

let config: SessionConfig = {
  page: 'portal',
  required: false,
  locale: () => document.documentElement.lang,
  navigate: (url) => window.location.assign(url),
}

let renewing: Promise<string | null> | null = null

/** The session, read-only: change it through the functions of this module. */
export const session = readonly(state)

function adopt(tokens: StoredTokens): void {
  writeTokens(tokens)
  state.tokens = tokens
  state.status = 'signed-in'
  state.error = null
}

function drop(): void {
  clearTokens()
  state.tokens = null
  state.status = 'anonymous'
}

export interface StartOptions {
  page: AuthPage
  required: boolean
  locale?: () => string
  navigate?: (url: string) => void
}

/**
 * Start the page's session: finish a return from the provider (then take `?code=&state=`
 * out of the address bar), or pick up the tab's tokens, or, on a page that needs them,
 * go to the provider. Resolves to `redirecting` when the page is being left.
 */
export async function startSession(options: StartOptions): Promise<'ready' | 'redirecting'> {
  config = {
    page: options.page,
    required: options.required,
    locale: options.locale ?? config.locale,
    navigate: options.navigate ?? config.navigate,
  }
  renewing = null
  state.error = null
  const here = new URL(window.location.href)
  if (isAuthorizationReturn(here)) {
    let hash = here.hash
    try {
      const { tokens, returnHash } = await completeSignIn(here)
      hash = returnHash || hash
      adopt(tokens)
    } catch (error) {
      drop()
      state.status = 'failed'
      state.error =
        error instanceof SignInError ? error : new SignInError('exchange_failed', String(error))
    }
    // The code is spent: keep it out of the history, bookmarks and Referer headers.
    window.history.replaceState(window.history.state, '', `${here.pathname}${hash}`)
    return 'ready'
  }
  const tokens = readTokens()
  if (tokens) {
    adopt(tokens)
    return 'ready'
  }
  drop()
  if (config.required) {
    await signIn()
    return 'redirecting'
  }
  return 'ready'
}

/** Go to the provider's sign-in page; the return lands on this page's root. */
export async function signIn(): Promise<void> {
  state.status = 'redirecting'
  state.error = null
  try {
    const url = await authorizationUrl(config.page, {
      locale: config.locale(),
      returnHash: window.location.hash,
    })
    config.navigate(url.href)
  } catch (error) {
    state.status = 'failed'
    state.error =
      error instanceof SignInError ? error : new SignInError('discovery_failed', String(error))
  }
}

/** End the session here and at the provider, which sends the browser back to this page. */
export async function signOut(): Promise<void> {
  const idToken = state.tokens?.id_token ?? null
  drop()
  let url: URL | null = null
  try {
    url = await endSessionUrl(config.page, idToken)
  } catch {
    // Provider unreachable: the local session is gone, which is what the person asked.
  }
  state.status = 'redirecting'
  config.navigate(url ? url.href : window.location.pathname)
}

async function renew(): Promise<string | null> {
  const tokens = state.tokens
  if (!tokens) {
    return null
  }
  try {
    const renewed = await refreshTokens(tokens)
    adopt(renewed)
    return renewed.access_token
  } catch (error) {
    if (error instanceof RefreshRejected) {
      await signInAgain()
    }
    return null
  }
}

// One refresh at a time: with rotation, a second request with the same refresh token
// would be refused and end the session.
function renewOnce(): Promise<string | null> {
  renewing ??= renew().finally(() => {
    renewing = null
  })
  return renewing
}

/** The session ended under the page (refused refresh, 401 after renewal). */
export async function signInAgain(): Promise<void> {
  drop()
  if (config.required) {
    await signIn()
  }
}

/** The access token to send now, renewed first when it is about to expire; null signed out. */
export async function accessToken(): Promise<string | null> {
  if (renewing) {
    return renewing
  }
  const tokens = state.tokens
  if (!tokens) {
    return null
  }
  if (tokens.expires_at - Date.now() > REFRESH_AHEAD_MS || !tokens.refresh_token) {
    return tokens.access_token
  }
  // A refresh that failed for want of a network leaves the old token worth a try.
  return (await renewOnce()) ?? state.tokens?.access_token ?? null
}

/**
 * A call was answered 401 with `rejected`: the token to retry with, or null when the
 * session cannot be renewed. Calls that failed together share one refresh.
 */
export async function tokenAfterUnauthorized(rejected: string): Promise<string | null> {
  if (renewing) {
    return renewing
  }
  const current = state.tokens?.access_token
  if (current && current !== rejected) {
    return current
  }
  return renewOnce()
}
