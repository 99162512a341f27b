import { apiFetch } from '../../shared/api'
import type { Severity } from '../alarms/alarms'
import { severityRank } from '../alarms/alarms'

/** Alarm rules (`/api/v1/alarm-rules`): read-only, as the district profile declares them. */
export const RULES_API = '/api/v1/alarm-rules'

export interface LocalizedName {
  zh: string
  en: string
}

export interface AlarmRule {
  id: string
  name: LocalizedName
  type: string
  device_type: string
  device_type_name: LocalizedName | null
  devices: string[]
  condition: string
  clear: string | null
  duration_seconds: number | null
  during: string | null
  timezone: string
  severity: Severity
  escalate_after: string | null
  auto_clear: boolean
  open_case: { category: string; description: string | null } | null
  position: number
  active: boolean
  open_alarms: number
}

export interface AlarmRuleDetail extends AlarmRule {
  watched_devices: number
  raised_devices: number
}

/** The rules of one device type, in the order they are judged. */
export interface RuleGroup {
  deviceType: string
  name: LocalizedName | null
  rules: AlarmRule[]
  openAlarms: number
}

export function listRules(): Promise<AlarmRule[]> {
  return apiFetch<AlarmRule[]>(RULES_API)
}

export function getRule(id: string): Promise<AlarmRuleDetail> {
  return apiFetch<AlarmRuleDetail>(`${RULES_API}/${encodeURIComponent(id)}`)
}

export function localName(name: LocalizedName, locale: string): string {
  return locale.startsWith('zh') ? name.zh : name.en || name.zh
}

/** Rules grouped by device type, groups in the order of their first rule; retired rules last. */
export function groupRules(rules: readonly AlarmRule[]): RuleGroup[] {
  const groups = new Map<string, RuleGroup>()
  for (const rule of rules) {
    const group = groups.get(rule.device_type) ?? { deviceType: rule.device_type, name: rule.device_type_name, rules: [], openAlarms: 0 }
    group.rules.push(rule)
    group.openAlarms += rule.open_alarms
    groups.set(rule.device_type, group)
  }
  for (const group of groups.values()) {
    group.rules.sort((a, b) => Number(b.active) - Number(a.active) || a.position - b.position)
  }
  return [...groups.values()]
}

/** The rules matching a search (id, names, condition) and, if given, a severity. */
export function filterRules(rules: readonly AlarmRule[], text: string, severity: string): AlarmRule[] {
  const needle = text.trim().toLowerCase()
  return rules.filter(
    (rule) =>
      (!severity || rule.severity === severity) &&
      (!needle ||
        [rule.id, rule.name.zh, rule.name.en, rule.condition, rule.clear ?? '', rule.device_type].some((part) =>
          part.toLowerCase().includes(needle),
        )),
  )
}

/** How many active rules each severity has, most severe first. */
export function severityCounts(rules: readonly AlarmRule[]): [Severity, number][] {
  const counts = new Map<Severity, number>()
  for (const rule of rules) {
    if (rule.active) counts.set(rule.severity, (counts.get(rule.severity) ?? 0) + 1)
  }
  return [...counts.entries()].sort((a, b) => severityRank(a[0]) - severityRank(b[0]))
}

/** 告警中心 showing the open alarms of one rule. */
export function alarmsHref(ruleId: string): string {
  return `#/alarms?rule=${encodeURIComponent(ruleId)}`
}

/** A hold duration in its largest whole unit: `{ unit: 'min', count: 10 }`. */
export function durationParts(seconds: number): { unit: 'h' | 'min' | 's'; count: number } {
  if (seconds > 0 && seconds % 3600 === 0) return { unit: 'h', count: seconds / 3600 }
  if (seconds > 0 && seconds % 60 === 0) return { unit: 'min', count: seconds / 60 }
  return { unit: 's', count: seconds }
}
