/*
 * The dashboard's page, script and style sheet, embedded in the binary so
 * that it needs no CDN and no files at run time. The sources are
 * src/lib/agent/api/dashboard/{index.html,app.js,style.css}; the build turns
 * them into a C file (cmake/embed_dashboard.cmake).
 */
#ifndef TEELIZA_AGENT_DASHBOARD_ASSETS_H
#define TEELIZA_AGENT_DASHBOARD_ASSETS_H

#include <stddef.h>

extern const unsigned char dashboard_index_html[];
extern const size_t dashboard_index_html_len;
extern const unsigned char dashboard_app_js[];
extern const size_t dashboard_app_js_len;
extern const unsigned char dashboard_style_css[];
extern const size_t dashboard_style_css_len;

#endif
