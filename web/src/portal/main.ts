import { mountPage } from '../shared/mount'
import PortalApp from './PortalApp.vue'
import './portal.css'

void mountPage(PortalApp, { titleKey: 'portal.pageTitle', auth: { page: 'portal', required: false } })
