/*
 * Writers of a computed trial (see report.h).
 *
 * Divided into: escaping and number formatting, the terminal table, CSV,
 * JSON, and the SVG chart.  Every writer reports only what the cells hold:
 * a failed or skipped cell prints as such, never as a number.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* ---- escaping and numbers ---------------------------------------------- */

void report_csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void report_json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

void report_json_number(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.9g", v);
	else
		fputs("null", f);
}

void report_xml_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			/* control characters are not allowed in XML 1.0 */
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

void report_format_value(char *buf, size_t len, double v)
{
	double a = fabs(v);

	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (a >= 100 || a == 0)
		snprintf(buf, len, "%.0f", v);
	else if (a >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

static void format_ratio(char *buf, size_t len, double r)
{
	if (!isfinite(r))
		snprintf(buf, len, "-");
	else if (r >= 100)
		snprintf(buf, len, "%.0fx", r);
	else if (r >= 10)
		snprintf(buf, len, "%.1fx", r);
	else
		snprintf(buf, len, "%.2fx", r);
}

static int finish(FILE *f)
{
	if (fflush(f) == EOF || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}

/*
 * chart_ref - the column ratios are taken against: native when there is
 * one, else the first platform; *@native tells which (-1: none).
 */
static int chart_ref(const struct trial *t, int *native)
{
	int r = trial_native(t);

	*native = r >= 0;
	return r >= 0 ? r : trial_first(t);
}

static double cell_ratio(const struct cell *c, int native)
{
	return native ? c->ratio_native : c->ratio_first;
}

/* ---- terminal table ---------------------------------------------------- */

#define CELL_TEXT 160

static void cell_text(char *buf, size_t len, const struct trial *t,
		      size_t col, const struct cell *c)
{
	char med[32], lo[32], hi[32], rat[32];
	int native, ref = chart_ref(t, &native);

	switch (c->status) {
	case CELL_FAILED:
		snprintf(buf, len, "FAILED");
		return;
	case CELL_SKIPPED:
		snprintf(buf, len, "skipped");
		return;
	case CELL_NA:
		snprintf(buf, len, "n/a");
		return;
	case CELL_OK:
		break;
	}
	report_format_value(med, sizeof(med), c->median);
	report_format_value(lo, sizeof(lo), c->min);
	report_format_value(hi, sizeof(hi), c->max);
	format_ratio(rat, sizeof(rat), cell_ratio(c, native));
	if (ref >= 0 && (size_t)ref != col && isfinite(cell_ratio(c, native)))
		snprintf(buf, len, "%s [%s..%s] %s", med, lo, hi, rat);
	else
		snprintf(buf, len, "%s [%s..%s]", med, lo, hi);
}

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

static void table_notes(FILE *f, const struct trial *t)
{
	bool any = false;

	for (size_t r = 0; r < t->nrows; r++) {
		const struct row *row = &t->rows[r];

		for (size_t c = 0; c < t->ncols; c++) {
			const struct cell *cell = &row->cells[c];

			if (!cell->note || cell->status == CELL_OK)
				continue;
			/* one note per workload and column, not per figure */
			if (r > 0 && strcmp(t->rows[r - 1].workload,
					    row->workload) == 0 &&
			    t->rows[r - 1].cells[c].note &&
			    strcmp(t->rows[r - 1].cells[c].note, cell->note) == 0)
				continue;
			if (!any)
				fputs("\nfailed and skipped cells:\n", f);
			any = true;
			fprintf(f, "  %s on %s: %s: %s\n", row->workload,
				t->cols[c].name, cell_status_name(cell->status),
				cell->note);
		}
	}
}

int report_table(FILE *f, const struct trial *t)
{
	size_t wname = strlen("benchmark"), wunit = strlen("unit");
	size_t *wcol = calloc(t->ncols ? t->ncols : 1, sizeof(*wcol));
	char buf[CELL_TEXT];
	int native, ref = chart_ref(t, &native);

	if (!wcol)
		return -ENOMEM;
	for (size_t c = 0; c < t->ncols; c++)
		wcol[c] = strlen(t->cols[c].name);
	for (size_t r = 0; r < t->nrows; r++) {
		wname = max_size(wname, strlen(t->rows[r].metric));
		wunit = max_size(wunit, strlen(t->rows[r].unit));
		for (size_t c = 0; c < t->ncols; c++) {
			cell_text(buf, sizeof(buf), t, c, &t->rows[r].cells[c]);
			wcol[c] = max_size(wcol[c], strlen(buf));
		}
	}
	fprintf(f, "%-*s  %-*s", (int)wname, "benchmark", (int)wunit, "unit");
	for (size_t c = 0; c < t->ncols; c++)
		fprintf(f, "  %-*s", (int)wcol[c], t->cols[c].name);
	fputc('\n', f);
	for (size_t r = 0; r < t->nrows; r++) {
		fprintf(f, "%-*s  %-*s", (int)wname, t->rows[r].metric,
			(int)wunit, t->rows[r].unit);
		for (size_t c = 0; c < t->ncols; c++) {
			cell_text(buf, sizeof(buf), t, c, &t->rows[r].cells[c]);
			fprintf(f, "  %-*s", (int)wcol[c], buf);
		}
		fputc('\n', f);
	}
	fprintf(f, "\ncells: median [min..max] of %u runs (after %u warm-up), "
		"interleaved across columns", t->runs, t->warmup);
	if (ref >= 0)
		fprintf(f, "; Nx: median of paired ratios to %s",
			native ? "native" : t->cols[ref].name);
	fputs(".\n", f);
	table_notes(f, t);
	if (t->notes) {
		fputs("\nwhat is measured:\n", f);
		for (const char *const *n = t->notes; *n; n++)
			fprintf(f, "  - %s\n", *n);
	}
	free(wcol);
	return finish(f);
}

/* ---- CSV --------------------------------------------------------------- */

static void csv_number(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.9g", v);
}

int report_csv(FILE *f, const struct trial *t)
{
	fputs("workload,metric,unit,column,kind,status,runs,median,min,max,"
	      "ratio_native,ratio_first,needs,note\n", f);
	for (size_t r = 0; r < t->nrows; r++) {
		const struct row *row = &t->rows[r];

		for (size_t c = 0; c < t->ncols; c++) {
			const struct cell *cell = &row->cells[c];

			report_csv_field(f, row->workload);
			fputc(',', f);
			report_csv_field(f, row->metric);
			fputc(',', f);
			report_csv_field(f, row->unit);
			fputc(',', f);
			report_csv_field(f, t->cols[c].name);
			fprintf(f, ",%s,%s,%zu,", col_kind_name(t->cols[c].kind),
				cell_status_name(cell->status),
				cell->status == CELL_OK ? cell->n : 0);
			csv_number(f, cell->median);
			fputc(',', f);
			csv_number(f, cell->min);
			fputc(',', f);
			csv_number(f, cell->max);
			fputc(',', f);
			csv_number(f, cell->ratio_native);
			fputc(',', f);
			csv_number(f, cell->ratio_first);
			fputc(',', f);
			report_csv_field(f, row->needs);
			fputc(',', f);
			report_csv_field(f, cell->note);
			fputc('\n', f);
		}
	}
	return finish(f);
}

/* ---- JSON -------------------------------------------------------------- */

static void json_key(FILE *f, const char *indent, const char *key)
{
	fputs(indent, f);
	report_json_string(f, key);
	fputs(": ", f);
}

static void json_columns(FILE *f, const struct trial *t)
{
	fputs("  \"columns\": [", f);
	for (size_t c = 0; c < t->ncols; c++) {
		const struct column *col = &t->cols[c];

		fputs(c ? ",\n    {" : "\n    {", f);
		fputs("\"name\": ", f);
		report_json_string(f, col->name);
		fputs(", \"kind\": ", f);
		report_json_string(f, col_kind_name(col->kind));
		fputs(", \"platform\": ", f);
		report_json_string(f, col->platform);
		fputs(", \"prefix\": [", f);
		for (size_t i = 0; col->prefix && col->prefix[i]; i++) {
			if (i)
				fputs(", ", f);
			report_json_string(f, col->prefix[i]);
		}
		fputs("]}", f);
	}
	fputs("\n  ],\n", f);
}

static void json_cell(FILE *f, const struct trial *t, size_t c,
		      const struct cell *cell)
{
	fputs("{\"column\": ", f);
	report_json_string(f, t->cols[c].name);
	fputs(", \"status\": ", f);
	report_json_string(f, cell_status_name(cell->status));
	fputs(", \"runs\": [", f);
	for (size_t i = 0; cell->status == CELL_OK && i < cell->n; i++) {
		if (i)
			fputs(", ", f);
		report_json_number(f, cell->v[i]);
	}
	fputs("], \"median\": ", f);
	report_json_number(f, cell->median);
	fputs(", \"min\": ", f);
	report_json_number(f, cell->min);
	fputs(", \"max\": ", f);
	report_json_number(f, cell->max);
	fputs(", \"ratio_native\": ", f);
	report_json_number(f, cell->ratio_native);
	fputs(", \"ratio_first\": ", f);
	report_json_number(f, cell->ratio_first);
	fputs(", \"note\": ", f);
	report_json_string(f, cell->note);
	fputc('}', f);
}

int report_json(FILE *f, const struct trial *t)
{
	fputs("{\n", f);
	json_key(f, "  ", "tool");
	report_json_string(f, "sbxbench");
	fputs(",\n", f);
	json_key(f, "  ", "command");
	report_json_string(f, t->command);
	fputs(",\n", f);
	json_key(f, "  ", "date");
	report_json_string(f, t->date);
	fputs(",\n", f);
	json_key(f, "  ", "host");
	report_json_string(f, t->host);
	fprintf(f, ",\n  \"runs\": %u,\n  \"warmup\": %u,\n", t->runs,
		t->warmup);
	json_key(f, "  ", "notes");
	fputc('[', f);
	for (size_t i = 0; t->notes && t->notes[i]; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		report_json_string(f, t->notes[i]);
	}
	fputs(t->notes && t->notes[0] ? "\n  ],\n" : "],\n", f);
	json_columns(f, t);
	fputs("  \"benchmarks\": [", f);
	for (size_t r = 0; r < t->nrows; r++) {
		const struct row *row = &t->rows[r];

		fputs(r ? ",\n    {" : "\n    {", f);
		fputs("\"workload\": ", f);
		report_json_string(f, row->workload);
		fputs(", \"metric\": ", f);
		report_json_string(f, row->metric);
		fputs(", \"unit\": ", f);
		report_json_string(f, row->unit);
		fputs(", \"needs\": ", f);
		report_json_string(f, row->needs);
		fputs(", \"cells\": [", f);
		for (size_t c = 0; c < t->ncols; c++) {
			fputs(c ? ",\n      " : "\n      ", f);
			json_cell(f, t, c, &row->cells[c]);
		}
		fputs("]}", f);
	}
	fputs("\n  ]\n}\n", f);
	return finish(f);
}

/* ---- SVG chart --------------------------------------------------------- */

static const char *const palette[] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
	"#59a14f", "#edc948", "#b07aa1", "#9c755f",
};

#define SVG_LEFT 70
#define SVG_TOP 70
#define SVG_PLOT_H 300
#define SVG_BOTTOM 115
#define SVG_BAR_W 16
#define SVG_GROUP_GAP 26

struct chart {
	const struct trial *t;
	int ref, native;
	size_t *series;	/* column index of each series */
	size_t nseries;
	double lo, hi;	/* log10 of the axis ends, whole decades */
	int width, plot_w;
};

static double chart_y(const struct chart *ch, double r)
{
	return SVG_TOP + SVG_PLOT_H * (ch->hi - log10(r)) / (ch->hi - ch->lo);
}

/* chart_range - whole decades covering every ratio and 1x. */
static void chart_range(struct chart *ch)
{
	double lo = 0, hi = 0;

	for (size_t r = 0; r < ch->t->nrows; r++) {
		for (size_t s = 0; s < ch->nseries; s++) {
			double v = cell_ratio(&ch->t->rows[r].cells[ch->series[s]],
					      ch->native);

			if (!isfinite(v) || v <= 0)
				continue;
			if (log10(v) < lo)
				lo = log10(v);
			if (log10(v) > hi)
				hi = log10(v);
		}
	}
	ch->lo = floor(lo);
	ch->hi = ceil(hi);
	if (ch->hi - ch->lo < 1)
		ch->hi = ch->lo + 1;
}

static void chart_axis(FILE *f, const struct chart *ch)
{
	int x1 = SVG_LEFT + ch->plot_w;
	bool minor = ch->hi - ch->lo <= 4;

	for (int d = (int)ch->lo; d <= (int)ch->hi; d++) {
		for (int m = 1; m <= (minor ? 5 : 1); m += m == 1 ? 1 : 3) {
			double r = m * pow(10, d);
			double y;
			char lab[32];

			if (log10(r) > ch->hi + 1e-9)
				break;
			y = chart_y(ch, r);
			fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
				"y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%s\"/>\n",
				SVG_LEFT, y, x1, y,
				d == 0 && m == 1 ? "#333" : m == 1 ? "#bbb" : "#e4e4e4",
				d == 0 && m == 1 ? "1.5" : "1");
			snprintf(lab, sizeof(lab), "%gx", r);
			fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
				"font-size=\"%d\" fill=\"#444\">%s</text>\n",
				SVG_LEFT - 6, y + 4, m == 1 ? 12 : 10, lab);
		}
	}
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"stroke=\"#333\"/>\n", SVG_LEFT, SVG_TOP, SVG_LEFT,
		SVG_TOP + SVG_PLOT_H);
}

static void chart_bar(FILE *f, const struct chart *ch, double x, size_t s,
		      const struct cell *cell)
{
	double r = cell_ratio(cell, ch->native);
	double y1 = chart_y(ch, 1), y, h;
	char lab[32];

	if (!isfinite(r) || r <= 0) {
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" "
			"fill=\"#999\" transform=\"rotate(-90 %.1f %.1f)\">%s"
			"</text>\n", x + SVG_BAR_W / 2.0 + 3, y1 - 4,
			x + SVG_BAR_W / 2.0 + 3, y1 - 4,
			cell->status == CELL_OK ? "n/a" :
			cell_status_name(cell->status));
		return;
	}
	y = chart_y(ch, r);
	h = fabs(y - y1);
	if (h < 1)
		h = 1;
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
		"fill=\"%s\"><title>", x, y < y1 ? y : y1, SVG_BAR_W, h,
		palette[s % (sizeof(palette) / sizeof(palette[0]))]);
	report_xml_text(f, ch->t->cols[ch->series[s]].name);
	format_ratio(lab, sizeof(lab), r);
	fprintf(f, ": %s</title></rect>\n", lab);
	/* the label sits beyond the bar's end, reading upwards */
	if (r >= 1)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" "
			"transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
			x + SVG_BAR_W / 2.0 + 3, y - 3,
			x + SVG_BAR_W / 2.0 + 3, y - 3, lab);
	else
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" "
			"text-anchor=\"end\" transform=\"rotate(-90 %.1f %.1f)\">"
			"%s</text>\n", x + SVG_BAR_W / 2.0 + 3, y + 3,
			x + SVG_BAR_W / 2.0 + 3, y + 3, lab);
}

static void chart_groups(FILE *f, const struct chart *ch)
{
	double gw = ch->nseries * (SVG_BAR_W + 2) + SVG_GROUP_GAP;
	double ylab = SVG_TOP + SVG_PLOT_H + 14;

	for (size_t r = 0; r < ch->t->nrows; r++) {
		const struct row *row = &ch->t->rows[r];
		double x0 = SVG_LEFT + SVG_GROUP_GAP / 2.0 + r * gw;
		double xc = x0 + ch->nseries * (SVG_BAR_W + 2) / 2.0;

		for (size_t s = 0; s < ch->nseries; s++)
			chart_bar(f, ch, x0 + s * (SVG_BAR_W + 2), s,
				  &row->cells[ch->series[s]]);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
			"text-anchor=\"end\" transform=\"rotate(-40 %.1f %.1f)\">",
			xc, ylab, xc, ylab);
		report_xml_text(f, row->metric);
		fputs("</text>\n", f);
	}
}

static void chart_legend(FILE *f, const struct chart *ch)
{
	double x = SVG_LEFT;

	for (size_t s = 0; s < ch->nseries; s++) {
		const char *name = ch->t->cols[ch->series[s]].name;

		fprintf(f, "<rect x=\"%.1f\" y=\"38\" width=\"12\" height=\"12\" "
			"fill=\"%s\"/>\n<text x=\"%.1f\" y=\"48\" font-size=\"12\">",
			x, palette[s % (sizeof(palette) / sizeof(palette[0]))],
			x + 16);
		report_xml_text(f, name);
		fputs("</text>\n", f);
		x += 16 + 7.5 * strlen(name) + 18;
	}
}

int report_svg(FILE *f, const struct trial *t)
{
	struct chart ch = { .t = t };
	int height = SVG_TOP + SVG_PLOT_H + SVG_BOTTOM;

	ch.ref = chart_ref(t, &ch.native);
	ch.series = calloc(t->ncols ? t->ncols : 1, sizeof(*ch.series));
	if (!ch.series)
		return -ENOMEM;
	for (size_t c = 0; c < t->ncols; c++)
		if ((int)c != ch.ref && t->cols[c].kind != COL_NATIVE)
			ch.series[ch.nseries++] = c;
	chart_range(&ch);
	ch.plot_w = (int)(t->nrows * (ch.nseries * (SVG_BAR_W + 2) +
				      SVG_GROUP_GAP));
	if (ch.plot_w < 560)	/* room for the title line */
		ch.plot_w = 560;
	ch.width = SVG_LEFT + ch.plot_w + 20;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		ch.width, height, ch.width, height);
	fputs("<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">"
	      "sbxbench: cost relative to ", f);
	if (ch.ref >= 0)
		report_xml_text(f, ch.native ? "native" : t->cols[ch.ref].name);
	else
		fputs("(nothing to compare)", f);
	fprintf(f, "</text>\n<text x=\"%d\" y=\"22\" font-size=\"11\" "
		"fill=\"#555\" text-anchor=\"end\">log scale; median of %u "
		"paired runs; lower is better</text>\n", ch.width - 8, t->runs);
	chart_legend(f, &ch);
	chart_axis(f, &ch);
	chart_groups(f, &ch);
	if (t->date[0]) {
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" "
			"fill=\"#666\" text-anchor=\"end\">", ch.width - 8,
			height - 8);
		report_xml_text(f, t->date);
		fputs(" ", f);
		report_xml_text(f, t->host);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
	free(ch.series);
	return finish(f);
}
