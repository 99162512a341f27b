import { onBeforeUnmount, onMounted, ref, shallowRef, type Ref } from 'vue'
import { openLive, type LiveConnection, type LiveEvent, type LiveState } from '../../shared/live'
import { getAlarm, listAlarms, newestFirst, type Alarm } from './alarms'

const MAX_PAGES = 10

/** Every open alarm (active or acknowledged) within reach, newest first. */
export async function fetchOpenAlarms(): Promise<Alarm[]> {
  const found: Alarm[] = []
  let cursor: string | null = null
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const result: { items: Alarm[]; next_cursor: string | null } = await listAlarms({ open: true }, cursor, 200)
    found.push(...result.items)
    cursor = result.next_cursor
    if (!cursor) break
  }
  return found.sort(newestFirst)
}

/** The open alarms with `changed` put in, or taken out once cleared; newest first. */
export function mergeAlarm(alarms: readonly Alarm[], changed: Alarm): Alarm[] {
  const others = alarms.filter((alarm) => alarm.id !== changed.id)
  return changed.status === 'cleared' ? others : [...others, changed].sort(newestFirst)
}

/** The alarm an `alarm.*` event is about. */
export function alarmIdOf(event: LiveEvent): string | null {
  const id = event.payload.alarm_id ?? event.key
  return typeof id === 'string' && id ? id : null
}

export interface OpenAlarms {
  alarms: Ref<Alarm[]>
  error: Ref<unknown>
  live: Ref<LiveState>
  reload: () => Promise<void>
  /** Put a changed alarm in (after acknowledging it here, say). */
  put: (alarm: Alarm) => void
}

/**
 * The open alarms, kept current by `alarm.*` live events: each event's alarm is read again
 * (the event carries less than the list shows), and the whole list when events were lost.
 */
export function useOpenAlarms(): OpenAlarms {
  const alarms = shallowRef<Alarm[]>([])
  const error = shallowRef<unknown>(null)
  const live = ref<LiveState>('connecting')
  let connection: LiveConnection | null = null
  let opened = false

  async function reload(): Promise<void> {
    try {
      alarms.value = await fetchOpenAlarms()
      error.value = null
    } catch (cause) {
      error.value = cause
    }
  }

  const put = (alarm: Alarm): void => {
    alarms.value = mergeAlarm(alarms.value, alarm)
  }

  async function onEvent(event: LiveEvent): Promise<void> {
    const id = alarmIdOf(event)
    if (!id) return
    try {
      put(await getAlarm(id))
    } catch {
      // Out of reach or gone: the next full reload settles it.
    }
  }

  onMounted(() => {
    void reload()
    connection = openLive({
      types: ['alarm.*'],
      onEvent: (event) => void onEvent(event),
      onLagged: () => void reload(),
      // A reconnect without an id to resume from may have missed events.
      onOpen: (resumed) => {
        if (!resumed && opened) void reload()
        opened = true
      },
      onState: (state) => (live.value = state),
    })
  })
  onBeforeUnmount(() => connection?.close())

  return { alarms, error, live, reload, put }
}
