import { onBeforeUnmount, onMounted, shallowRef, watch, type Ref } from 'vue'
import type { LiveEvent } from '../shared/live'
import { formatCityDateTime } from '../shared/time'
import { severityColour } from '../workbench/alarms/alarms'
import { levelColour } from './emergency'
import { listen, matches } from './iocLive'

/** The newest live events the strip at the foot of the screen runs through. */
export const TICKER_SIZE = 20

/**
 * The events heard of the `types` wanted (patterns such as `alarm.*`, read again when they
 * change), newest first, at most `size`. Nothing is asked for: the strip starts empty.
 */
export function useTicker(types: () => readonly string[], size = TICKER_SIZE): { events: Ref<LiveEvent[]> } {
  const events = shallowRef<LiveEvent[]>([])
  let unlisten: (() => void) | null = null
  let stopWatching: (() => void) | null = null

  function hear(event: LiveEvent): void {
    // A resumed stream may say again what it said before it broke.
    if (event.id && events.value.some((known) => known.id === event.id)) return
    events.value = [event, ...events.value].slice(0, size)
  }

  onMounted(() => {
    stopWatching = watch(
      () => types().join(' '),
      () => {
        unlisten?.()
        unlisten = null
        const wanted = types()
        // Events of a kind no longer wanted go with it.
        events.value = events.value.filter((event) => matches(wanted, event.type))
        if (wanted.length) unlisten = listen({ types: wanted, onEvent: hear })
      },
      { immediate: true },
    )
  })
  onBeforeUnmount(() => {
    stopWatching?.()
    unlisten?.()
  })
  return { events }
}

/** How a line reads: translate with `t`, in `locale`, knowing which keys exist with `te`. */
export interface Wording {
  t: (key: string, values?: Record<string, unknown>) => string
  te: (key: string) => boolean
  locale: string
}

export interface TickerLine {
  id: string
  /** `HH:MM`, Beijing time */
  time: string
  kind: 'alarm' | 'case' | 'plan'
  /** What happened, in a word or two (告警, 新案件, 预案). */
  label: string
  /** What it happened to: the alarm and its device, the case number, the plan and its level. */
  text: string
  colour: string
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
const text = (value: unknown): string => (typeof value === 'string' ? value : '')
const bilingual = (value: unknown, locale: string): string => {
  const name = record(value)
  return locale.startsWith('zh') ? text(name.zh) || text(name.en) : text(name.en) || text(name.zh)
}
const words = (...parts: string[]): string => parts.filter(Boolean).join(' ')

/** One live event as a line of the strip, from its payload alone (see the server's emitters). */
export function tickerLine(event: LiveEvent, { t, te, locale }: Wording): TickerLine {
  const [family = '', ...rest] = event.type.split('.')
  const action = rest.join('.')
  const payload = event.payload
  const time = formatCityDateTime(event.created_at).slice(11, 16)
  const label = (key: string, fallback: string): string => (te(`ioc.ticker.${family}.${key}`) ? t(`ioc.ticker.${family}.${key}`) : t(`ioc.ticker.${family}.${fallback}`))
  if (family === 'alarm') {
    const device = text(record(payload.device).code)
    return {
      id: event.id,
      time,
      kind: 'alarm',
      label: label(action, 'other'),
      text: words(bilingual(record(payload.rule).name, locale), device),
      colour: severityColour(text(payload.severity)),
    }
  }
  if (family === 'case') {
    const step = te(`cases.steps.${action}`) ? t(`cases.steps.${action}`) : te(`ioc.ticker.case.steps.${action}`) ? t(`ioc.ticker.case.steps.${action}`) : ''
    return {
      id: event.id,
      time,
      kind: 'case',
      label: label(action, 'other'),
      text: words(text(payload.number), action === 'created' ? '' : step),
      colour: '#38bdf8',
    }
  }
  const level = text(payload.level)
  const levelName = te(`ioc.plans.levels.${level}`) ? t(`ioc.plans.levels.${level}`) : level
  const response = action === 'started' || action === 'level_changed' ? t('ioc.ticker.plan.response', { level: levelName }) : levelName
  const shown = action === 'closed' || action === 'dismissed' ? '' : response
  return {
    id: event.id,
    time,
    kind: 'plan',
    label: label(action, 'other'),
    text: words(bilingual(payload.name, locale), shown, payload.drill === true ? t('ioc.ticker.plan.drill') : ''),
    colour: levelColour(level),
  }
}
