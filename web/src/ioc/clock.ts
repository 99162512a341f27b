/** The IOC shows Beijing time wherever the screen's own clock is set. */
export const CITY_TIME_ZONE = 'Asia/Shanghai'

/** Date and time of `instant` in Asia/Shanghai, worded for `locale`. */
export function formatCityTime(instant: Date, locale: string): { date: string; time: string } {
  const date = new Intl.DateTimeFormat(locale, {
    timeZone: CITY_TIME_ZONE,
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    weekday: 'long',
  }).format(instant)
  const time = new Intl.DateTimeFormat(locale, {
    timeZone: CITY_TIME_ZONE,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(instant)
  return { date, time }
}
