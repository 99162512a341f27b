/**
 * Where the tokens live: sessionStorage, so they end with the tab and are shared by the
 * three pages of one origin, and never reach localStorage's long life.
 */

/** The tokens of a signed-in tab and what the ID token said about the person. */
export interface StoredTokens {
  access_token: string
  refresh_token: string | null
  id_token: string | null
  /** Milliseconds since the epoch at which the access token expires. */
  expires_at: number
  scope: string
  claims: IdentityClaims
}

/** The ID token claims a page uses before /identity/me has answered. */
export interface IdentityClaims {
  sub: string
  name?: string
  preferred_username?: string
  locale?: string
}

/** An authorization request in flight: what the return to the page must match. */
export interface PendingSignIn {
  state: string
  nonce: string
  code_verifier: string
  redirect_uri: string
  /** The hash the person was on (`#/users`), restored after sign-in. */
  return_hash: string
}

export const TOKENS_KEY = 'cityos.auth.tokens'
export const PENDING_KEY = 'cityos.auth.pending'

function read<T>(key: string): T | null {
  try {
    const raw = window.sessionStorage.getItem(key)
    return raw ? (JSON.parse(raw) as T) : null
  } catch {
    // Disabled storage or a damaged value: treat as signed out.
    return null
  }
}

function write(key: string, value: unknown): void {
  try {
    window.sessionStorage.setItem(key, JSON.stringify(value))
  } catch {
    // Storage disabled: the session lasts for this page view only.
  }
}

function remove(key: string): void {
  try {
    window.sessionStorage.removeItem(key)
  } catch {
    // Nothing was stored.
  }
}

function isTokens(value: unknown): value is StoredTokens {
  if (typeof value !== 'object' || value === null) {
    return false
  }
  const tokens = value as Partial<StoredTokens>
  return typeof tokens.access_token === 'string' && typeof tokens.expires_at === 'number'
}

export function readTokens(): StoredTokens | null {
  const value = read<unknown>(TOKENS_KEY)
  return isTokens(value) ? value : null
}

export function writeTokens(tokens: StoredTokens): void {
  write(TOKENS_KEY, tokens)
}

export function clearTokens(): void {
  remove(TOKENS_KEY)
}

export function readPending(): PendingSignIn | null {
  return read<PendingSignIn>(PENDING_KEY)
}

export function writePending(pending: PendingSignIn): void {
  write(PENDING_KEY, pending)
}

export function clearPending(): void {
  remove(PENDING_KEY)
}
