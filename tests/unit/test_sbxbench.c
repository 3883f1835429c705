/*
 * Unit tests of sbxbench's statistics (stats.c, trial.c) and writers
 * (report.c): median of odd and even counts, min/max, paired ratios,
 * empty input; CSV and JSON escaping; the writers on a small trial, with
 * failed cells printed as such and non-finite numbers as empty / null.
 * Built from bench/sbxbench/meson.build (it links the sbxbench modules).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "runner.h"
#include "stats.h"
#include "trial.h"

/* ---- statistics -------------------------------------------------------- */

START_TEST(test_sbxbench_median_odd)
{
	double v[] = { 5, 1, 3 }, m;

	ck_assert_int_eq(stats_median(v, 3, &m), 0);
	ck_assert_double_eq(m, 3);
	ck_assert_double_eq(v[0], 5);	/* input left alone */
}
END_TEST

START_TEST(test_sbxbench_median_even)
{
	double v[] = { 4, 1, 3, 10 }, m;

	ck_assert_int_eq(stats_median(v, 4, &m), 0);
	ck_assert_double_eq(m, 3.5);
}
END_TEST

START_TEST(test_sbxbench_median_one)
{
	double v[] = { 7.25 }, m;

	ck_assert_int_eq(stats_median(v, 1, &m), 0);
	ck_assert_double_eq(m, 7.25);
}
END_TEST

START_TEST(test_sbxbench_empty)
{
	double m = 42, lo, hi, r[1];
	size_t nr = 9;

	ck_assert_int_eq(stats_median(NULL, 0, &m), -EINVAL);
	ck_assert_double_eq(m, 42);
	ck_assert_int_eq(stats_minmax(NULL, 0, &lo, &hi), -EINVAL);
	ck_assert_int_eq(stats_paired_ratios(NULL, NULL, 0, r, &nr), -EINVAL);
	ck_assert_uint_eq(nr, 0);
	ck_assert_int_eq(stats_paired_ratio(NULL, NULL, 0, &m), -EINVAL);
}
END_TEST

START_TEST(test_sbxbench_minmax)
{
	double v[] = { 2, -1, 8, 3 }, lo, hi;

	ck_assert_int_eq(stats_minmax(v, 4, &lo, &hi), 0);
	ck_assert_double_eq(lo, -1);
	ck_assert_double_eq(hi, 8);
}
END_TEST

START_TEST(test_sbxbench_paired_ratio)
{
	/* pairs: 10/5=2, 30/10=3, 8/2=4; the median of ratios (3), not the
	 * ratio of medians (10/5=2) */
	double num[] = { 10, 30, 8 }, den[] = { 5, 10, 2 }, r;

	ck_assert_int_eq(stats_paired_ratio(num, den, 3, &r), 0);
	ck_assert_double_eq(r, 3);
}
END_TEST

START_TEST(test_sbxbench_paired_ratio_skips_zero)
{
	double num[] = { 1, 6, 9 }, den[] = { 0, 2, NAN }, r[3];
	size_t nr;

	ck_assert_int_eq(stats_paired_ratios(num, den, 3, r, &nr), 0);
	ck_assert_uint_eq(nr, 1);
	ck_assert_double_eq(r[0], 3);
	den[1] = 0;
	ck_assert_int_eq(stats_paired_ratios(num, den, 3, r, &nr), -EINVAL);
}
END_TEST

/* ---- a small trial ----------------------------------------------------- */

static double nat_v[] = { 10, 20, 30 }, pt_v[] = { 100, 220, 270 },
	      sys_v[] = { 50, 60, 90 };
static struct column cols[3];
static struct cell cells[3];
static struct row row;
static struct trial trial;

static void trial_setup(void)
{
	cols[0] = (struct column){ COL_NATIVE, "native", NULL, NULL };
	cols[1] = (struct column){ COL_PLATFORM, "ptrace", "ptrace", NULL };
	cols[2] = (struct column){ COL_PLATFORM, "sys,\"trap\"", "x", NULL };
	memset(cells, 0, sizeof(cells));
	cells[0] = (struct cell){ .status = CELL_OK, .v = nat_v, .n = 3 };
	cells[1] = (struct cell){ .status = CELL_OK, .v = pt_v, .n = 3 };
	cells[2] = (struct cell){ .status = CELL_FAILED, .v = sys_v, .n = 3,
				  .note = "exit status 1; stderr: a \"b\"\nc,d" };
	row = (struct row){ "getppid", "getppid", "ns", NULL, cells };
	trial = (struct trial){ .cols = cols, .ncols = 3, .rows = &row,
				.nrows = 1, .runs = 3, .warmup = 1,
				.command = "sbxbench --native", .date = "D",
				.host = "H" };
	ck_assert_int_eq(trial_compute(&trial), 0);
}

static char *capture(int (*fn)(FILE *, const struct trial *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fn(f, &trial), 0);
	fclose(f);
	return buf;
}

START_TEST(test_sbxbench_compute)
{
	ck_assert_double_eq(cells[1].median, 220);
	ck_assert_double_eq(cells[1].min, 100);
	ck_assert_double_eq(cells[1].max, 270);
	/* 100/10, 220/20, 270/30 -> 10, 11, 9 */
	ck_assert_double_eq(cells[1].ratio_native, 10);
	ck_assert_double_eq(cells[1].ratio_first, 1);
	ck_assert_double_eq(cells[0].ratio_native, 1);
	ck_assert(isnan(cells[2].median));
	ck_assert(isnan(cells[2].ratio_native));
	ck_assert_uint_eq(trial_failed(&trial), 1);
}
END_TEST

START_TEST(test_sbxbench_csv_field)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	report_csv_field(f, "plain");
	fputc('|', f);
	report_csv_field(f, "a,b");
	fputc('|', f);
	report_csv_field(f, "say \"hi\"");
	fputc('|', f);
	report_csv_field(f, "two\nlines");
	fputc('|', f);
	report_csv_field(f, NULL);
	fclose(f);
	ck_assert_str_eq(buf, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|");
	free(buf);
}
END_TEST

START_TEST(test_sbxbench_json_string)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	report_json_string(f, "q\"b\\n\n\t\x01");
	fputc(' ', f);
	report_json_string(f, NULL);
	fputc(' ', f);
	report_json_number(f, NAN);
	fputc(' ', f);
	report_json_number(f, INFINITY);
	fputc(' ', f);
	report_json_number(f, 2.5);
	fclose(f);
	ck_assert_str_eq(buf, "\"q\\\"b\\\\n\\n\\t\\u0001\" null null null 2.5");
	free(buf);
}
END_TEST

START_TEST(test_sbxbench_csv_trial)
{
	char *s = capture(report_csv);

	ck_assert_ptr_nonnull(strstr(s, "workload,metric,unit,column,kind,"
				     "status,runs,median,min,max,ratio_native,"
				     "ratio_first,needs,note\n"));
	ck_assert_ptr_nonnull(strstr(s, "getppid,getppid,ns,ptrace,platform,"
				     "ok,3,220,100,270,10,1,,\n"));
	/* failed: no numbers; the name and the note are quoted */
	ck_assert_ptr_nonnull(strstr(s, "getppid,getppid,ns,\"sys,\"\"trap\"\"\","
				     "platform,failed,0,,,,,,,\"exit status 1; "
				     "stderr: a \"\"b\"\"\nc,d\"\n"));
	free(s);
}
END_TEST

START_TEST(test_sbxbench_json_trial)
{
	char *s = capture(report_json);

	ck_assert_ptr_nonnull(strstr(s, "\"runs\": [100, 220, 270], "
				     "\"median\": 220, \"min\": 100, "
				     "\"max\": 270, \"ratio_native\": 10, "
				     "\"ratio_first\": 1"));
	ck_assert_ptr_nonnull(strstr(s, "{\"column\": \"sys,\\\"trap\\\"\", "
				     "\"status\": \"failed\", \"runs\": [], "
				     "\"median\": null"));
	ck_assert_ptr_nonnull(strstr(s, "\"note\": \"exit status 1; stderr: "
				     "a \\\"b\\\"\\nc,d\"}"));
	free(s);
}
END_TEST

START_TEST(test_sbxbench_table_and_svg)
{
	char *s = capture(report_table);

	ck_assert_ptr_nonnull(strstr(s, "220 [100..270] 10.0x"));
	ck_assert_ptr_nonnull(strstr(s, "FAILED"));
	free(s);
	s = capture(report_svg);
	ck_assert_ptr_nonnull(strstr(s, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	ck_assert_ptr_nonnull(strstr(s, "sys,&quot;trap&quot;"));
	ck_assert_ptr_nonnull(strstr(s, "</svg>\n"));
	free(s);
}
END_TEST

Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("sbxbench");
	TCase *tc = tcase_create("stats");

	tcase_add_test(tc, test_sbxbench_median_odd);
	tcase_add_test(tc, test_sbxbench_median_even);
	tcase_add_test(tc, test_sbxbench_median_one);
	tcase_add_test(tc, test_sbxbench_empty);
	tcase_add_test(tc, test_sbxbench_minmax);
	tcase_add_test(tc, test_sbxbench_paired_ratio);
	tcase_add_test(tc, test_sbxbench_paired_ratio_skips_zero);
	suite_add_tcase(s, tc);
	tc = tcase_create("writers");
	tcase_add_checked_fixture(tc, trial_setup, NULL);
	tcase_add_test(tc, test_sbxbench_compute);
	tcase_add_test(tc, test_sbxbench_csv_field);
	tcase_add_test(tc, test_sbxbench_json_string);
	tcase_add_test(tc, test_sbxbench_csv_trial);
	tcase_add_test(tc, test_sbxbench_json_trial);
	tcase_add_test(tc, test_sbxbench_table_and_svg);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tc, 10);
	return s;
}
