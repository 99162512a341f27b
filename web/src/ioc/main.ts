import { mountPage } from '../shared/mount'
import IocApp from './IocApp.vue'
import './ioc.css'

void mountPage(IocApp, { titleKey: 'ioc.pageTitle', auth: { page: 'ioc', required: true } })
