import { useI18n } from 'vue-i18n'
import { ApiError } from '../../shared/api'
import { inLocale, type Bilingual, type RunEvent, type RunTask, type RunTrigger } from './plans'

const DURATION = /^(\d+)\s*(minute|hour|day)s?$/i

const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '')

/** Field errors of a refused step (`errors[].field` → message), `body.` taken off the field. */
export function fieldErrors(error: unknown): Record<string, string> {
  const problem = error instanceof ApiError ? error.problem : null
  return Object.fromEntries(
    (problem?.errors ?? []).map((item) => [item.field.replace(/^(body|query|path)\./, ''), item.message]),
  )
}

/** The words the plan pages put around the API's codes, in the page's language. */
export function usePlanText() {
  const { t, te, locale } = useI18n()

  const name = (value: Bilingual): string => inLocale(value, locale.value)
  const level = (value: unknown): string => {
    const code = text(value)
    return te(`plans.levels.${code}`) ? t(`plans.levels.${code}`) : code
  }

  function trigger(value: RunTrigger): string {
    if (value.kind === 'manual') {
      return value.by ? t('plans.trigger.manualBy', { who: text(value.by) }) : t('plans.trigger.manual')
    }
    if (value.kind === 'warning') return t('plans.trigger.warning', { warning: text(value.warning) })
    if (value.kind === 'alarm') return t('plans.trigger.alarm', { alarm: text(value.alarm), count: text(value.count) })
    return t('plans.trigger.other', { kind: value.kind })
  }

  // Plans write durations in English (`30 minutes`, `1 hour`): Chinese pages say them in Chinese.
  function duration(value: string): string {
    const match = DURATION.exec(value.trim())
    if (!match || !locale.value.startsWith('zh')) return value
    return `${match[1]} ${t(`plans.actions.units.${match[2]!.toLowerCase()}s`)}`
  }

  const kind = (value: string): string => (te(`plans.timeline.kinds.${value}`) ? t(`plans.timeline.kinds.${value}`) : value)

  /**
   * What a timeline entry adds to its kind: the task, the levels, the reason. The entry keeps
   * a task's Chinese title; the run's `tasks` give it in the page's language.
   */
  function detail(event: RunEvent, tasks: readonly RunTask[] = []): string[] {
    const data = event.data
    const lines: string[] = []
    if (data.department || data.do) {
      const task = tasks.find((item) => item.id === event.task_id)
      lines.push(t('plans.timeline.task', { department: text(data.department), task: task ? name(task.title) : text(data.do) }))
    }
    if (event.kind === 'level_raised' || event.kind === 'level_lowered') {
      lines.push(t('plans.timeline.levelChange', { from: level(data.from), to: level(data.to) }))
    } else if (data.level && !data.department) {
      lines.push(level(data.level))
    }
    if (data.trigger && typeof data.trigger === 'object') lines.push(trigger(data.trigger as RunTrigger))
    if (event.kind === 'notified') {
      const roles = Array.isArray(data.roles) ? data.roles.map(text).join('、') : ''
      lines.push(t('plans.timeline.notified', { people: text(data.people), roles }))
    }
    if (data.reason) lines.push(t('plans.timeline.reason', { reason: text(data.reason) }))
    for (const key of ['summary', 'comment'] as const) {
      if (data[key]) lines.push(text(data[key]))
    }
    return lines
  }

  return { name, level, trigger, duration, kind, detail }
}
