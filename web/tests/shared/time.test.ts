import { describe, expect, it } from 'vitest'
import { cityDayEnd, cityDayStart, formatCityDateTime } from '../../src/shared/time'

describe('Beijing time', () => {
  it('shows a UTC instant in Asia/Shanghai', () => {
    expect(formatCityDateTime('2026-11-30T23:30:05Z')).toBe('2026-12-01 07:30:05')
    expect(formatCityDateTime('2026-12-01T00:00:00+08:00')).toBe('2026-12-01 00:00:00')
    expect(formatCityDateTime(new Date(Date.UTC(2027, 0, 1, 16, 0, 0)))).toBe('2027-01-02 00:00:00')
  })

  it('gives unparseable text back as it came', () => {
    expect(formatCityDateTime('yesterday')).toBe('yesterday')
  })

  it('bounds whole days with the +08:00 zone, across month and year ends', () => {
    expect(cityDayStart('2026-12-01')).toBe('2026-12-01T00:00:00+08:00')
    expect(cityDayEnd('2026-11-30')).toBe('2026-12-01T00:00:00+08:00')
    expect(cityDayEnd('2026-12-31')).toBe('2027-01-01T00:00:00+08:00')
    expect(cityDayEnd('2028-02-28')).toBe('2028-02-29T00:00:00+08:00')
    expect(() => cityDayStart('1/12/2026')).toThrow(RangeError)
  })
})
