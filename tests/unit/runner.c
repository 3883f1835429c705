/* Shared Check runner: TAP on stdout, fork mode, exit 77 to skip. */
#include <check.h>
#include <stdlib.h>

#include "runner.h"

int main(void)
{
	SRunner *sr = srunner_create(sbx_test_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
