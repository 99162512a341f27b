/** Times as the district reads them: Beijing time (Asia/Shanghai), whatever the browser's zone. */
export const CITY_TIME_ZONE = 'Asia/Shanghai'

/** The city's offset from UTC; China keeps no daylight saving time. */
export const CITY_UTC_OFFSET = '+08:00'

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/

function parts(instant: Date): Record<string, string> {
  const formatter = new Intl.DateTimeFormat('en-CA', {
    timeZone: CITY_TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  })
  return Object.fromEntries(formatter.formatToParts(instant).map((part) => [part.type, part.value]))
}

/**
 * An instant (a Date or an ISO text with a zone) as `2026-12-01 18:55:05` in Beijing time:
 * the same digits in either language, sortable and unambiguous. Unparseable text comes back as is.
 */
export function formatCityDateTime(instant: Date | string): string {
  const date = typeof instant === 'string' ? new Date(instant) : instant
  if (Number.isNaN(date.getTime())) {
    return String(instant)
  }
  const p = parts(date)
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`
}

/** The start of a calendar day (`YYYY-MM-DD`) in Beijing time, as ISO with its offset. */
export function cityDayStart(day: string): string {
  if (!DATE_ONLY.test(day)) {
    throw new RangeError(`not a date: ${day}`)
  }
  return `${day}T00:00:00${CITY_UTC_OFFSET}`
}

/** The start of the day after `day` in Beijing time: the exclusive end of a range ending on `day`. */
export function cityDayEnd(day: string): string {
  const match = DATE_ONLY.exec(day)
  if (!match) {
    throw new RangeError(`not a date: ${day}`)
  }
  const next = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + 1))
  return cityDayStart(next.toISOString().slice(0, 10))
}
