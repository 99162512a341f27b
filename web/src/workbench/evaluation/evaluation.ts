import { apiFetch, apiFile, type ApiFile } from '../../shared/api'
import { CITY_TIME_ZONE } from '../../shared/time'

const BASE = '/api/v1/cases/evaluation'

/** What the rows of the ranking are. */
export const DIMENSIONS = ['department', 'subdistrict', 'community', 'category'] as const
export type Dimension = (typeof DIMENSIONS)[number]

/** The indicators, in the order the table shows them (the server's field names). */
export const RATE_COLUMNS = [
  'registration_rate',
  'dispatch_accuracy',
  'signed_on_time_rate',
  'handled_on_time_rate',
  'closure_rate',
  'closed_on_time_rate',
  'rework_rate',
  'extension_rate',
  'average_handling_hours',
  'satisfaction_rate',
] as const
export type RateColumn = (typeof RATE_COLUMNS)[number]

export type Rates = Record<RateColumn, number | null>

export interface EvaluationCounts {
  reported: number
  synthetic: number
  [count: string]: number
}

export interface EvaluationRow {
  key: string | null
  name_zh: string
  name_en: string
  rank: number | null
  composite: number | null
  counts: EvaluationCounts
  rates: Rates
}

export interface Evaluation {
  period: { text: string; first: string; last: string }
  by: Dimension
  include_synthetic: boolean
  weights: Record<string, number>
  rows: EvaluationRow[]
  total: EvaluationRow
  synthetic_cases: number
}

export interface EvaluationQuery {
  period: string
  by: Dimension
  includeSynthetic: boolean
}

function params(query: EvaluationQuery): string {
  return new URLSearchParams({
    period: query.period,
    by: query.by,
    include_synthetic: String(query.includeSynthetic),
  }).toString()
}

export const loadEvaluation = (query: EvaluationQuery): Promise<Evaluation> =>
  apiFetch<Evaluation>(`${BASE}?${params(query)}`, { timeoutMs: 60_000 })

export const exportEvaluation = (query: EvaluationQuery): Promise<ApiFile> =>
  apiFile(`${BASE}.xlsx?${params(query)}`, {
    headers: {
      accept: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, application/problem+json',
    },
    timeoutMs: 120_000,
  })

/** How the period is picked: a month, a quarter, a year or a range of days. */
export const PERIOD_KINDS = ['month', 'quarter', 'year', 'range'] as const
export type PeriodKind = (typeof PERIOD_KINDS)[number]

export interface PeriodDraft {
  kind: PeriodKind
  /** `YYYY-MM` */
  month: string
  year: number
  quarter: 1 | 2 | 3 | 4
  /** `YYYY-MM-DD`, both ends included */
  from: string
  to: string
}

/** Today in Beijing time as `YYYY-MM-DD`, whatever the browser's zone. */
export function cityToday(now: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: CITY_TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now)
}

/** The period picker as it opens: the current Beijing month. */
export function defaultPeriod(now: Date = new Date()): PeriodDraft {
  const today = cityToday(now)
  const year = Number(today.slice(0, 4))
  const month = Number(today.slice(5, 7))
  return {
    kind: 'month',
    month: today.slice(0, 7),
    year,
    quarter: Math.ceil(month / 3) as 1 | 2 | 3 | 4,
    from: `${today.slice(0, 7)}-01`,
    to: today,
  }
}

/**
 * The `period` query for a draft (`2026-11`, `2026-Q4`, `2026`, `2026-10-01..2026-11-30`);
 * '' while it is incomplete. Whether a complete one makes sense is the server's to say.
 */
export function periodText(draft: PeriodDraft): string {
  switch (draft.kind) {
    case 'month':
      return draft.month
    case 'quarter':
      return draft.year ? `${draft.year}-Q${draft.quarter}` : ''
    case 'year':
      return draft.year ? String(draft.year) : ''
    case 'range':
      return draft.from && draft.to ? `${draft.from}..${draft.to}` : ''
  }
}

/** The rates where lower is better (their bars and sort read the other way round for the eye). */
export const LOWER_IS_BETTER: readonly RateColumn[] = ['rework_rate', 'extension_rate', 'average_handling_hours']

export type SortColumn = 'rank' | 'name' | 'composite' | RateColumn

export interface SortState {
  column: SortColumn
  descending: boolean
}

function valueOf(row: EvaluationRow, column: SortColumn, locale: string): number | string | null {
  if (column === 'rank') return row.rank
  if (column === 'name') return locale === 'en' ? row.name_en : row.name_zh
  if (column === 'composite') return row.composite
  return row.rates[column]
}

/**
 * The rows in `sort` order: ranked rows first, then those without a rank, each part sorted by
 * the column (missing values last whichever way). The total row is not among them.
 */
export function sortRows(rows: readonly EvaluationRow[], sort: SortState, locale: string): EvaluationRow[] {
  const direction = sort.descending ? -1 : 1
  const compare = (a: EvaluationRow, b: EvaluationRow): number => {
    const x = valueOf(a, sort.column, locale)
    const y = valueOf(b, sort.column, locale)
    if (x === null || y === null) {
      return x === y ? 0 : x === null ? 1 : -1
    }
    if (typeof x === 'string' || typeof y === 'string') {
      return direction * String(x).localeCompare(String(y), locale === 'en' ? 'en' : 'zh-CN')
    }
    return direction * (x - y)
  }
  const ranked = rows.filter((row) => row.rank !== null)
  const unranked = rows.filter((row) => row.rank === null)
  // Array.prototype.sort is stable: equal values keep the server's order.
  return [...ranked.sort(compare), ...unranked.sort(compare)]
}

/** A fraction as a percentage with one decimal (`87.5%`); '—' for no value. */
export function formatRate(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`
}

/** Hours with one decimal; '—' for no value. */
export function formatHours(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : value.toFixed(1)
}

/** A composite score (0–100) with the two decimals it is ranked by; '—' for no value. */
export function formatScore(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : value.toFixed(2)
}
