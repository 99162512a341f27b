import { accessToken, signInAgain, tokenAfterUnauthorized } from '../auth/session'

/** A field-level error inside a problem+json body (see the kernel's validation handler). */
export interface ProblemFieldError {
  field: string
  message: string
  type?: string
}

/** An RFC 9457 problem+json body as the CityOS API sends it. */
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  code?: string
  instance?: string
  errors?: ProblemFieldError[]
  request_id?: string
  [extra: string]: unknown
}

/** Codes this client gives failures that never reached a problem+json answer. */
export type ClientErrorCode = 'network_error' | 'timeout' | 'invalid_response' | 'http_error'

/** A failed API call. `code` is the server's stable code, or a ClientErrorCode. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly problem: Problem | null

  constructor(message: string, options: { status: number; code: string; problem?: Problem | null }) {
    super(message)
    this.name = 'ApiError'
    this.status = options.status
    this.code = options.code
    this.problem = options.problem ?? null
  }
}

export interface ApiOptions extends RequestInit {
  /** Abort after this many milliseconds; 15 s unless given, 0 for never. */
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 15_000

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isJsonType(contentType: string | null): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  return type === 'application/json' || type.endsWith('+json')
}

/** The problem carried by an error response, or null when the body is not one. */
export async function readProblem(response: Response): Promise<Problem | null> {
  if (!isJsonType(response.headers.get('content-type'))) {
    return null
  }
  try {
    const body: unknown = await response.json()
    return isObject(body) ? (body as Problem) : null
  } catch {
    return null
  }
}

async function errorFromResponse(response: Response): Promise<ApiError> {
  const problem = await readProblem(response)
  const code = typeof problem?.code === 'string' && problem.code ? problem.code : 'http_error'
  const title = typeof problem?.title === 'string' && problem.title ? problem.title : ''
  return new ApiError(title || `HTTP ${response.status}`, {
    status: response.status,
    code,
    problem,
  })
}

// Only our own API gets the bearer token: never a third-party URL a caller might pass.
function wantsToken(path: string): boolean {
  return path.startsWith('/api/')
}

/**
 * Call the CityOS API and return its JSON body; throws ApiError for any failure.
 * Asks for answers in the page's language, so problem titles come back translated.
 * Signed in, /api calls carry the access token; a 401 renews it once and retries, and a
 * second 401 ends the session (the page then asks the person to sign in again).
 */
export async function apiFetch<T = unknown>(path: string, options: ApiOptions = {}): Promise<T> {
  return readBody<T>(path, await authorised(path, options))
}

/** A file the API sends (an export): its bytes and the name the server suggests. */
export interface ApiFile {
  blob: Blob
  filename: string | null
}

/**
 * Fetch a file from the API with the same sign-in handling as `apiFetch` (a plain link
 * would carry no bearer token). Throws ApiError, reading a problem+json failure, as it does.
 */
export async function apiFile(path: string, options: ApiOptions = {}): Promise<ApiFile> {
  const headers = new Headers(options.headers)
  if (!headers.has('accept')) {
    headers.set('accept', '*/*')
  }
  const response = await authorised(path, { ...options, headers })
  if (!response.ok) {
    throw await errorFromResponse(response)
  }
  return { blob: await response.blob(), filename: filenameOf(response.headers.get('content-disposition')) }
}

/** The file name a Content-Disposition header gives (RFC 6266: `filename*` wins). */
export function filenameOf(disposition: string | null): string | null {
  if (!disposition) {
    return null
  }
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(disposition)
  if (extended?.[2]) {
    try {
      return decodeURIComponent(extended[2].trim())
    } catch {
      // fall back to the plain name
    }
  }
  const plain = /filename\s*=\s*(?:"([^"]*)"|([^;]+))/i.exec(disposition)
  const name = (plain?.[1] ?? plain?.[2])?.trim()
  return name || null
}

/** Hand a blob to the browser as a download named `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  link.rel = 'noopener'
  link.style.display = 'none'
  document.body.append(link)
  link.click()
  link.remove()
  // Let the click's navigation take the URL before it goes.
  setTimeout(() => URL.revokeObjectURL(url), 0)
}

async function authorised(path: string, options: ApiOptions): Promise<Response> {
  const token = wantsToken(path) ? await accessToken() : null
  let response = await send(path, options, token)
  if (response.status === 401 && token) {
    const renewed = await tokenAfterUnauthorized(token)
    if (renewed) {
      response = await send(path, options, renewed)
      if (response.status === 401) {
        await signInAgain()
      }
    }
  }
  return response
}

async function send(path: string, options: ApiOptions, token: string | null): Promise<Response> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, signal, headers, ...init } = options
  const controller = new AbortController()
  let timedOut = false
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true
          controller.abort()
        }, timeoutMs)
      : undefined
  const onCallerAbort = (): void => controller.abort()
  signal?.addEventListener('abort', onCallerAbort, { once: true })

  const requestHeaders = new Headers(headers)
  if (!requestHeaders.has('accept')) {
    requestHeaders.set('accept', 'application/json, application/problem+json')
  }
  if (!requestHeaders.has('accept-language') && document.documentElement.lang) {
    requestHeaders.set('accept-language', document.documentElement.lang)
  }
  if (token) {
    requestHeaders.set('authorization', `Bearer ${token}`)
  }

  try {
    return await fetch(path, { ...init, headers: requestHeaders, signal: controller.signal })
  } catch (cause) {
    if (timedOut) {
      throw new ApiError(`Timed out after ${timeoutMs} ms: ${path}`, { status: 0, code: 'timeout' })
    }
    if (signal?.aborted) {
      throw cause
    }
    throw new ApiError(`Network error: ${path}`, { status: 0, code: 'network_error' })
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onCallerAbort)
  }
}

async function readBody<T>(path: string, response: Response): Promise<T> {
  if (!response.ok) {
    throw await errorFromResponse(response)
  }
  if (response.status === 204) {
    return undefined as T
  }
  try {
    return (await response.json()) as T
  } catch {
    throw new ApiError(`Not JSON: ${path}`, { status: response.status, code: 'invalid_response' })
  }
}
