#ifndef SBX_TESTS_RUNNER_H
#define SBX_TESTS_RUNNER_H
#include <check.h>
/* Each test_<module>.c defines this: its one Suite. */
Suite *sbx_test_suite(void);
#endif
