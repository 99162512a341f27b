import type { GeocodeResult, Region, RegionFeature } from '../../../src/shared/geo'

export function region(code: string, level: Region['level'], zh: string, en: string, parent: string | null): Region {
  return { code, level, parent, name: { zh, en }, synthetic: true, area_m2: 2_500_000, centroid: [114.12, 22.55] }
}

export const DISTRICT = region('440303', 'district', '罗湖区', 'Luohu District', null)
export const SUBDISTRICTS = [
  region('440303001', 'subdistrict', '桂园街道', 'Guiyuan Subdistrict', '440303'),
  region('440303003', 'subdistrict', '东门街道', 'Dongmen Subdistrict', '440303'),
]
export const COMMUNITIES = [
  region('440303003008', 'community', '东门社区', 'Dongmen Community', '440303003'),
  region('440303003009', 'community', '城东社区', 'Chengdong Community', '440303003'),
]

export function feature(item: Region): RegionFeature {
  return {
    type: 'Feature',
    geometry: { type: 'Point', coordinates: item.centroid },
    properties: {
      code: item.code,
      level: item.level,
      parent: item.parent,
      name_zh: item.name.zh,
      name_en: item.name.en,
      synthetic: item.synthetic,
      area_m2: item.area_m2,
      centroid: item.centroid,
    },
  }
}

export const GRID = region('440303003009004', 'grid', '城东社区第4网格', 'Chengdong Community Grid 4', '440303003009')

export function geocodeBody(overrides: Partial<GeocodeResult> = {}): GeocodeResult {
  return {
    query: '人民南路3002号国际贸易中心大厦A座',
    status: 'matched',
    reason: 'matched',
    detail: '已匹配标准地址',
    confidence: 0.99,
    code: '4403030030090040013',
    address: '深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座',
    lon: 114.117377,
    lat: 22.541124,
    regions: { district: '440303', subdistrict: '440303003', community: '440303003009', grid: '440303003009004' },
    precision: 'exact',
    candidates: [],
    crs: 'wgs84',
    ...overrides,
  }
}

export const CANDIDATES: GeocodeResult['candidates'] = [
  {
    code: '4403030030060090047',
    address: '深圳市罗湖区东门街道新园社区人民南路3071号1栋1单元',
    score: 0.5,
    matched: ['road'],
    conflicts: [],
    lon: 114.117321,
    lat: 22.543662,
    subdistrict: '440303003',
    community: '440303003006',
    grid: '440303003006009',
    reason: 'matched: road',
  },
  {
    code: '4403030030070030001',
    address: '深圳市罗湖区东门街道花场社区人民南路3043号4栋1单元',
    score: 0.4567,
    matched: ['road'],
    conflicts: [],
    lon: 114.11713,
    lat: 22.542746,
    subdistrict: '440303003',
    community: '440303003007',
    grid: '440303003007003',
    reason: 'matched: road',
  },
]
