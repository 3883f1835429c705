/* The services table (sbx/plugin.h) the core hands to every plugin. */
#ifndef SBX_PLUGIN_SERVICES_H
#define SBX_PLUGIN_SERVICES_H

#include <sbx/plugin.h>

/* services_init - fill @svc: core logging, option access, @memfd. */
void services_init(struct sbx_services *svc, int memfd);

#endif
