import { accessToken, tokenAfterUnauthorized } from '../auth/session'

/**
 * Live events (`GET /api/v1/live`) as server-sent events read through fetch, since
 * EventSource cannot send the bearer token. Reconnects by itself, resuming after the last
 * event seen (`Last-Event-ID`), so a screen left running survives server restarts.
 */
export const LIVE_PATH = '/api/v1/live'

/** One committed bus event as the server sends it in `data:`. */
export interface LiveEvent<P = Record<string, unknown>> {
  id: string
  type: string
  key: string | null
  payload: P
  created_at: string
}

/** One parsed server-sent message (comments and `retry:` lines are not messages). */
export interface SseMessage {
  id: string | null
  event: string
  data: string
}

/**
 * An incremental `text/event-stream` parser (WHATWG HTML §9.2.6): feed it chunks as they
 * arrive; it returns the messages completed by each chunk and remembers the last `retry:`.
 */
export class SseParser {
  retryMs: number | null = null
  private buffer = ''
  private afterCr = false
  private id: string | null = null
  private event = ''
  private data: string[] = []

  push(chunk: string): SseMessage[] {
    // A \r\n split across two chunks is one line end, not two.
    const text = this.afterCr && chunk.startsWith('\n') ? chunk.slice(1) : chunk
    this.afterCr = text.endsWith('\r')
    this.buffer += text
    const messages: SseMessage[] = []
    const lines = this.buffer.split(/\r\n|\r|\n/)
    // The last piece is an unfinished line (or '' after a line end): keep it for next time.
    this.buffer = lines.pop() ?? ''
    for (const line of lines) {
      const message = this.line(line)
      if (message) {
        messages.push(message)
      }
    }
    return messages
  }

  private line(line: string): SseMessage | null {
    if (line === '') {
      return this.dispatch()
    }
    if (line.startsWith(':')) {
      return null
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) {
      value = value.slice(1)
    }
    if (field === 'data') {
      this.data.push(value)
    } else if (field === 'event') {
      this.event = value
    } else if (field === 'id' && !value.includes('\0')) {
      this.id = value
    } else if (field === 'retry' && /^\d+$/.test(value)) {
      this.retryMs = Number(value)
    }
    return null
  }

  private dispatch(): SseMessage | null {
    const hasData = this.data.length > 0
    const message: SseMessage = { id: this.id, event: this.event || 'message', data: this.data.join('\n') }
    this.event = ''
    this.data = []
    return hasData ? message : null
  }
}

export type LiveState = 'connecting' | 'open' | 'retrying' | 'closed'

export interface LiveOptions {
  /** Event type patterns (`alarm.*`); all events when empty. */
  types: readonly string[]
  onEvent: (event: LiveEvent) => void
  /** The server dropped events for this client: refetch what is shown. */
  onLagged?: () => void
  /** The stream (re)opened: a caller may refetch, as events may have been missed before a first id. */
  onOpen?: (resumed: boolean) => void
  onState?: (state: LiveState) => void
  /** Wait before reconnecting, until the server says otherwise with `retry:`. */
  retryMs?: number
  /** The longest wait between attempts after repeated failures. */
  maxRetryMs?: number
}

export interface LiveConnection {
  close: () => void
  /** The id of the last event received, sent as `Last-Event-ID` on reconnect. */
  readonly lastEventId: string | null
}

function liveUrl(types: readonly string[]): string {
  const search = new URLSearchParams()
  for (const type of types) {
    search.append('types', type)
  }
  const text = search.toString()
  return text ? `${LIVE_PATH}?${text}` : LIVE_PATH
}

function asLiveEvent(message: SseMessage): LiveEvent | null {
  try {
    const body: unknown = JSON.parse(message.data)
    if (typeof body !== 'object' || body === null) {
      return null
    }
    const record = body as Record<string, unknown>
    return {
      id: typeof record.id === 'string' ? record.id : (message.id ?? ''),
      type: typeof record.type === 'string' ? record.type : message.event,
      key: typeof record.key === 'string' ? record.key : null,
      payload:
        typeof record.payload === 'object' && record.payload !== null
          ? (record.payload as Record<string, unknown>)
          : {},
      created_at: typeof record.created_at === 'string' ? record.created_at : '',
    }
  } catch {
    return null
  }
}

/** Open the live stream; it keeps reconnecting until `close()`. */
export function openLive(options: LiveOptions): LiveConnection {
  const url = liveUrl(options.types)
  const baseRetry = options.retryMs ?? 3000
  const maxRetry = options.maxRetryMs ?? 30_000
  let retryMs = baseRetry
  let failures = 0
  let lastEventId: string | null = null
  let closed = false
  let controller: AbortController | null = null
  let timer: ReturnType<typeof setTimeout> | undefined

  const setState = (state: LiveState): void => options.onState?.(state)

  async function request(signal: AbortSignal): Promise<Response> {
    const headers = (token: string | null): Headers => {
      const result = new Headers({ accept: 'text/event-stream', 'cache-control': 'no-cache' })
      if (token) result.set('authorization', `Bearer ${token}`)
      if (lastEventId) result.set('last-event-id', lastEventId)
      return result
    }
    const token = await accessToken()
    const response = await fetch(url, { headers: headers(token), signal })
    if (response.status === 401 && token) {
      const renewed = await tokenAfterUnauthorized(token)
      if (renewed) {
        return fetch(url, { headers: headers(renewed), signal })
      }
    }
    return response
  }

  async function connect(): Promise<void> {
    controller = new AbortController()
    setState('connecting')
    const resumed = lastEventId !== null
    try {
      const response = await request(controller.signal)
      if (!response.ok || !response.body) {
        throw new Error(`live stream answered ${response.status}`)
      }
      failures = 0
      setState('open')
      options.onOpen?.(resumed)
      const parser = new SseParser()
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        for (const message of parser.push(value)) {
          if (message.id !== null) lastEventId = message.id
          if (message.event === 'lagged') {
            options.onLagged?.()
            continue
          }
          const event = asLiveEvent(message)
          if (event) options.onEvent(event)
        }
        if (parser.retryMs !== null) retryMs = parser.retryMs
      }
    } catch {
      failures += 1
    }
    if (!closed) {
      setState('retrying')
      // The server's retry after a clean end; doubling (to a cap) after failures in a row.
      const wait = Math.min(retryMs * 2 ** Math.max(failures - 1, 0), Math.max(maxRetry, retryMs))
      timer = setTimeout(() => void connect(), wait)
    }
  }

  void connect()
  return {
    close(): void {
      closed = true
      clearTimeout(timer)
      controller?.abort()
      setState('closed')
    },
    get lastEventId() {
      return lastEventId
    },
  }
}
