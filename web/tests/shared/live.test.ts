import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { openLive, SseParser, type LiveEvent } from '../../src/shared/live'
import { settle, signInAs } from '../helpers'

describe('SseParser', () => {
  it('reads id, event and data, skipping comments and keep-alives', () => {
    const parser = new SseParser()
    const messages = parser.push(
      'retry: 3000\n\n: keep-alive\n\nid: e1\nevent: alarm.raised\ndata: {"a":1}\n\n',
    )
    expect(messages).toEqual([{ id: 'e1', event: 'alarm.raised', data: '{"a":1}' }])
    expect(parser.retryMs).toBe(3000)
  })

  it('joins data lines and completes a message split across chunks, CRLF included', () => {
    const parser = new SseParser()
    expect(parser.push('id: 7\r\ndata: one\r')).toEqual([])
    expect(parser.push('\ndata: two\r\n')).toEqual([])
    expect(parser.push('\r\n')).toEqual([{ id: '7', event: 'message', data: 'one\ntwo' }])
  })

  it('keeps the last id for later messages and drops a message without data', () => {
    const parser = new SseParser()
    expect(parser.push('id: 9\nevent: nothing\n\ndata:x\n\n')).toEqual([{ id: '9', event: 'message', data: 'x' }])
  })
})

function stream(chunks: string[], keepOpen = false): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
      if (!keepOpen) controller.close()
    },
  })
}

function sse(body: ReadableStream<Uint8Array>): Response {
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } })
}

const event = (id: string, type: string, payload: Record<string, unknown>): string =>
  `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ id, type, key: payload.alarm_id ?? null, payload, created_at: '2026-05-01T08:00:00+00:00' })}\n\n`

describe('openLive', () => {
  beforeEach(async () => {
    await signInAs(undefined, 'ioc')
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends the token and the wanted types, and hands over parsed events', async () => {
    const fetchMock = vi.fn(async () => sse(stream(['retry: 3000\n\n', event('e1', 'alarm.raised', { alarm_id: 'a1' })], true)))
    vi.stubGlobal('fetch', fetchMock)
    const events: LiveEvent[] = []
    const live = openLive({ types: ['alarm.*', 'device.*'], onEvent: (e) => events.push(e) })
    await settle()

    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/v1/live?types=alarm.*&types=device.*')
    const headers = new Headers(init.headers)
    expect(headers.get('authorization')).toBe('Bearer access-1')
    expect(headers.get('accept')).toBe('text/event-stream')
    expect(headers.has('last-event-id')).toBe(false)
    expect(events).toEqual([
      { id: 'e1', type: 'alarm.raised', key: 'a1', payload: { alarm_id: 'a1' }, created_at: '2026-05-01T08:00:00+00:00' },
    ])
    expect(live.lastEventId).toBe('e1')
    live.close()
  })

  it('reconnects after the stream ends, resuming with Last-Event-ID, and reports lost events', async () => {
    const bodies = [
      stream(['retry: 1000\n\n', event('e1', 'alarm.raised', { alarm_id: 'a1' }), event('e2', 'alarm.cleared', { alarm_id: 'a1' })]),
      stream(['event: lagged\ndata: {}\n\n', event('e3', 'alarm.raised', { alarm_id: 'a2' })], true),
    ]
    const fetchMock = vi.fn(async () => sse(bodies.shift()!))
    vi.stubGlobal('fetch', fetchMock)
    const seen: string[] = []
    const states: string[] = []
    const onLagged = vi.fn()
    const onOpen = vi.fn()
    const live = openLive({ types: ['alarm.*'], onEvent: (e) => seen.push(e.id), onLagged, onOpen, onState: (s) => states.push(s) })
    await settle()
    expect(seen).toEqual(['e1', 'e2'])
    expect(states.at(-1)).toBe('retrying')
    expect(fetchMock).toHaveBeenCalledTimes(1)

    // The server asked for 1 s between attempts.
    await vi.advanceTimersByTimeAsync(999)
    expect(fetchMock).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    await settle()

    expect(fetchMock).toHaveBeenCalledTimes(2)
    const init = (fetchMock.mock.calls[1] as unknown as [string, RequestInit])[1]
    expect(new Headers(init.headers).get('last-event-id')).toBe('e2')
    expect(onOpen.mock.calls).toEqual([[false], [true]])
    expect(onLagged).toHaveBeenCalledTimes(1)
    expect(seen).toEqual(['e1', 'e2', 'e3'])
    live.close()
    expect(states.at(-1)).toBe('closed')
  })

  it('backs off after failures and stops for good when closed', async () => {
    const fetchMock = vi.fn(async () => new Response('down', { status: 503 }))
    vi.stubGlobal('fetch', fetchMock)
    const live = openLive({ types: ['alarm.*'], onEvent: () => undefined, retryMs: 100, maxRetryMs: 1000 })
    await settle()
    expect(fetchMock).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(100)
    await settle()
    expect(fetchMock).toHaveBeenCalledTimes(2)
    // Second failure in a row: twice the wait.
    await vi.advanceTimersByTimeAsync(100)
    expect(fetchMock).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(100)
    await settle()
    expect(fetchMock).toHaveBeenCalledTimes(3)
    live.close()
    await vi.advanceTimersByTimeAsync(5000)
    expect(fetchMock).toHaveBeenCalledTimes(3)
  })
})
