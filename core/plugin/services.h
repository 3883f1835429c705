/* The services table (sbx/plugin.h) the core hands to every plugin. */
#ifndef SBX_PLUGIN_SERVICES_H
#define SBX_PLUGIN_SERVICES_H

#include <sbx/plugin.h>

/*
 * services_init - fill @svc: core logging (sbx_vlog with the plugin's name),
 * option access over the config's options maps (errors are logged with
 * FILE:LINE:COL and returned as -EINVAL), and @memfd, which stays owned by
 * the core.  The table holds no state; one may be shared by all plugins.
 */
void services_init(struct sbx_services *svc, int memfd);

#endif
