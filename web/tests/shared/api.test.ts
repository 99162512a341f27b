import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, apiFetch } from '../../src/shared/api'
import { jsonResponse, stubFetch } from '../helpers'

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError)
    return error as ApiError
  }
  throw new Error('expected the call to fail')
}

beforeEach(() => {
  document.documentElement.lang = 'zh-CN'
})

afterEach(() => {
  vi.useRealTimers()
})

describe('apiFetch', () => {
  it('returns the JSON body of a successful answer', async () => {
    stubFetch(() => jsonResponse({ status: 'ok' }))
    await expect(apiFetch('/healthz')).resolves.toEqual({ status: 'ok' })
  })

  it('asks for JSON in the page language', async () => {
    const fetchMock = stubFetch(() => jsonResponse({}))
    document.documentElement.lang = 'en'
    await apiFetch('/api/v1/meta')
    const headers = new Headers(fetchMock.mock.calls[0]?.[1]?.headers)
    expect(headers.get('accept-language')).toBe('en')
    expect(headers.get('accept')).toContain('application/problem+json')
  })

  it('keeps headers the caller set', async () => {
    const fetchMock = stubFetch(() => jsonResponse({}))
    await apiFetch('/x', { headers: { 'accept-language': 'en', 'x-request-id': 'abc' } })
    const headers = new Headers(fetchMock.mock.calls[0]?.[1]?.headers)
    expect(headers.get('accept-language')).toBe('en')
    expect(headers.get('x-request-id')).toBe('abc')
  })

  it('returns undefined for 204 No Content', async () => {
    stubFetch(() => new Response(null, { status: 204 }))
    await expect(apiFetch('/x', { method: 'DELETE' })).resolves.toBeUndefined()
  })

  it('turns a problem+json answer into an ApiError with its code, title and fields', async () => {
    const problem = {
      type: 'https://cityos.dev/problems/validation_failed',
      title: '提交的数据有误',
      status: 422,
      code: 'validation_failed',
      instance: '/api/v1/cases',
      detail: '2 fields are invalid',
      errors: [{ field: 'body.title', message: 'Field required', type: 'missing' }],
      request_id: 'r-1',
    }
    stubFetch(() => jsonResponse(problem, { status: 422, type: 'application/problem+json' }))

    const error = await failure(apiFetch('/api/v1/cases', { method: 'POST' }))

    expect(error.status).toBe(422)
    expect(error.code).toBe('validation_failed')
    expect(error.message).toBe('提交的数据有误')
    expect(error.problem?.detail).toBe('2 fields are invalid')
    expect(error.problem?.errors?.[0]?.field).toBe('body.title')
    expect(error.problem?.request_id).toBe('r-1')
  })

  it('reads a problem whose content type carries parameters', async () => {
    stubFetch(() =>
      jsonResponse(
        { title: 'Not found', status: 404, code: 'not_found' },
        { status: 404, type: 'application/problem+json; charset=utf-8' },
      ),
    )
    const error = await failure(apiFetch('/api/v1/cases/x'))
    expect(error.code).toBe('not_found')
  })

  it('gives http_error for an error answer that is not JSON', async () => {
    stubFetch(() => new Response('<h1>Bad gateway</h1>', { status: 502, headers: { 'content-type': 'text/html' } }))
    const error = await failure(apiFetch('/api/v1/meta'))
    expect(error.status).toBe(502)
    expect(error.code).toBe('http_error')
    expect(error.problem).toBeNull()
  })

  it('gives http_error for a problem+json body that is broken', async () => {
    stubFetch(() => new Response('{not json', { status: 500, headers: { 'content-type': 'application/problem+json' } }))
    const error = await failure(apiFetch('/api/v1/meta'))
    expect(error.code).toBe('http_error')
    expect(error.status).toBe(500)
  })

  it('gives network_error when the server cannot be reached', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')))
    const error = await failure(apiFetch('/api/v1/meta'))
    expect(error.status).toBe(0)
    expect(error.code).toBe('network_error')
  })

  it('gives invalid_response when a success answer is not JSON', async () => {
    stubFetch(() => new Response('<html></html>', { status: 200, headers: { 'content-type': 'text/html' } }))
    const error = await failure(apiFetch('/api/v1/meta'))
    expect(error.code).toBe('invalid_response')
  })

  it('gives timeout when the server does not answer in time', async () => {
    vi.useFakeTimers()
    vi.stubGlobal(
      'fetch',
      vi.fn(
        (_input: RequestInfo | URL, init?: RequestInit) =>
          new Promise<Response>((_resolve, reject) => {
            init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
          }),
      ),
    )
    const pending = failure(apiFetch('/api/v1/meta', { timeoutMs: 1000 }))
    await vi.advanceTimersByTimeAsync(1000)
    const error = await pending
    expect(error.code).toBe('timeout')
  })
})
