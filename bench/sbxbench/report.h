/*
 * Writers of a computed trial (trial.h): the terminal table, CSV, JSON and
 * an SVG bar chart of ratios (log scale).  Each returns 0 or -errno (from
 * the FILE's error flag); the escaping helpers are exposed for the tests.
 */
#ifndef SBX_BENCH_REPORT_H
#define SBX_BENCH_REPORT_H

#include <stdio.h>

#include "trial.h"

int report_table(FILE *f, const struct trial *t);
int report_csv(FILE *f, const struct trial *t);
int report_json(FILE *f, const struct trial *t);
int report_svg(FILE *f, const struct trial *t);

/* report_csv_field - @s as one RFC 4180 field: quoted (quotes doubled)
 * when it holds a comma, quote, CR or LF; NULL is an empty field. */
void report_csv_field(FILE *f, const char *s);
/* report_json_string - @s as a JSON string literal; NULL is null. */
void report_json_string(FILE *f, const char *s);
/* report_json_number - finite @v as a number, else null. */
void report_json_number(FILE *f, double v);
/* report_xml_text - @s with &, <, >, " escaped (SVG text and attributes). */
void report_xml_text(FILE *f, const char *s);

/* report_format_value - @v for the table: no decimals from 100 up, one
 * from 10, two below; "-" when not finite. */
void report_format_value(char *buf, size_t len, double v);

#endif
