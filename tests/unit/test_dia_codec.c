#include "unit.h"
static void test_nothing(void)
{
}
int main(void)
{
	static const unit_test_t tests[] = {UNIT_TEST(test_nothing), UNIT_END};
	return unit_run("dia_codec", tests);
}
