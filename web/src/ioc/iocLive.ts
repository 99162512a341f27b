import { openLive, type LiveConnection, type LiveEvent } from '../shared/live'

export interface IocListener {
  /** Patterns as the live API takes them (`case.*`, `alarm.raised`). */
  types: readonly string[]
  onEvent: (event: LiveEvent) => void
  /** Events may have been lost (the server lagged, or a stream began afresh): read again. */
  onMissed?: () => void
}

const listeners = new Set<IocListener>()
let connection: { types: string; live: LiveConnection } | null = null
let syncing = false

/** Whether an event type answers one of the patterns (`case.*` takes `case.created`). */
export function matches(patterns: readonly string[], type: string): boolean {
  return patterns.some((pattern) => (pattern.endsWith('.*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern))
}

function missed(): void {
  for (const listener of [...listeners]) listener.onMissed?.()
}

function open(types: string[]): LiveConnection {
  let opened = false
  return openLive({
    types,
    onEvent: (event) => {
      for (const listener of [...listeners]) if (matches(listener.types, event.type)) listener.onEvent(event)
    },
    onLagged: missed,
    onOpen: (resumed) => {
      if (!resumed && opened) missed()
      opened = true
    },
  })
}

// Listeners come and go in bursts (a screen mounting): settle once the burst is over.
function sync(): void {
  if (syncing) return
  syncing = true
  queueMicrotask(() => {
    syncing = false
    const types = [...new Set([...listeners].flatMap((listener) => listener.types))].sort()
    const key = types.join(' ')
    if (connection?.types === key) return
    const before = connection
    before?.live.close()
    connection = types.length ? { types: key, live: open(types) } : null
    // A stream asking for more than before starts afresh: what it missed meanwhile is read again.
    if (before && connection) missed()
  })
}

/**
 * Listen to live events until the returned function is called. A browser keeps about six
 * connections per server over HTTP/1.1 and each stream holds one for good: the screen's
 * listeners share one stream, asking for only the types they want between them.
 */
export function listen(listener: IocListener): () => void {
  listeners.add(listener)
  sync()
  return () => {
    listeners.delete(listener)
    sync()
  }
}
