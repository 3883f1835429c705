#include "runner.h"
START_TEST(test_config_placeholder) { ck_assert_int_eq(1, 1); }
END_TEST
Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("placeholder");
	tcase_add_test(tc, test_config_placeholder);
	suite_add_tcase(s, tc);
	return s;
}
