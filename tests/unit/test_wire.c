/* Wire cursor: every read and write path, every error path. */
#include <stdint.h>
#include <string.h>

#include "common/errcode.h"
#include "common/wire.h"
#include "tests/unit/unit.h"

static const uint8_t data[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
				0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };

static void given_bytes_when_reading_each_width_then_big_endian_values(void)
{
	wire_rd_t c;
	wire_rd_init(&c, data, sizeof(data));
	CU_ASSERT_EQUAL(wire_rd_u8(&c), 0x01);
	CU_ASSERT_EQUAL(wire_rd_u16(&c), 0x0203);
	CU_ASSERT_EQUAL(wire_rd_u32(&c), 0x04050607);
	CU_ASSERT_EQUAL(wire_rd_u64(&c), 0x08090a0b0c0d0e0fULL);
	CU_ASSERT_EQUAL(wire_rd_available(&c), 0);
	CU_ASSERT_EQUAL(wire_rd_offset(&c), 15);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EOK);
	CU_ASSERT_EQUAL(wire_rd_finish(&c), KMS_EOK);
}

/* For each width: one byte short fails, returns 0 and consumes nothing. */
static void given_short_input_when_reading_then_fewdata_and_zero(void)
{
	for (size_t have = 0; have < 8; have++) {
		wire_rd_t c;
		wire_rd_init(&c, data, have);
		if (have < 1) {
			CU_ASSERT_EQUAL(wire_rd_u8(&c), 0);
			CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
		}
		wire_rd_init(&c, data, have);
		if (have < 2) {
			CU_ASSERT_EQUAL(wire_rd_u16(&c), 0);
			CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
			CU_ASSERT_EQUAL(wire_rd_offset(&c), 0);
		}
		wire_rd_init(&c, data, have);
		if (have < 4) {
			CU_ASSERT_EQUAL(wire_rd_u32(&c), 0);
			CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
			CU_ASSERT_EQUAL(wire_rd_offset(&c), 0);
		}
		wire_rd_init(&c, data, have);
		CU_ASSERT_EQUAL(wire_rd_u64(&c), 0);
		CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
		CU_ASSERT_EQUAL(wire_rd_available(&c), 0);
	}
}

static void given_error_when_reading_more_then_error_sticks(void)
{
	wire_rd_t c;
	wire_rd_init(&c, data, 3);
	CU_ASSERT_EQUAL(wire_rd_u32(&c), 0); /* fails: 3 < 4 */
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
	/* These would fit, but the first error sticks. */
	CU_ASSERT_EQUAL(wire_rd_u8(&c), 0);
	CU_ASSERT_EQUAL(wire_rd_u16(&c), 0);
	CU_ASSERT_PTR_NULL(wire_rd_ptr(&c, 1));
	CU_ASSERT_EQUAL(wire_rd_peek_u8(&c), 0);
	uint8_t b[2] = { 0xaa, 0xbb };
	wire_rd_bytes(&c, b, 2);
	CU_ASSERT_EQUAL(b[0], 0xaa); /* untouched */
	CU_ASSERT_EQUAL(wire_rd_available(&c), 0);
	CU_ASSERT_EQUAL(wire_rd_finish(&c), KMS_EFEWDATA);
	wire_rd_t sub = wire_rd_sub(&c, 0);
	CU_ASSERT_EQUAL(wire_rd_error(&sub), KMS_EFEWDATA);
}

static void given_zero_length_when_reading_then_ok_with_null(void)
{
	wire_rd_t c;
	wire_rd_init(&c, NULL, 0);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EOK);
	wire_rd_bytes(&c, NULL, 0);
	wire_rd_skip(&c, 0);
	(void)wire_rd_ptr(&c, 0);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EOK);
	CU_ASSERT_EQUAL(wire_rd_finish(&c), KMS_EOK);
	CU_ASSERT_EQUAL(wire_rd_peek_u8(&c), 0);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
}

static void given_null_with_length_when_init_then_einval(void)
{
	wire_rd_t c;
	wire_rd_init(&c, NULL, 5);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EINVAL);
	CU_ASSERT_EQUAL(wire_rd_available(&c), 0);
	wire_wr_t w;
	wire_wr_init(&w, NULL, 5);
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_EINVAL);
	wire_rd_init(&c, data, 4);
	wire_rd_bytes(&c, NULL, 2);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EINVAL);
}

static void given_huge_length_when_reading_then_no_overflow(void)
{
	wire_rd_t c;
	wire_rd_init(&c, data, sizeof(data));
	wire_rd_u8(&c);
	CU_ASSERT_PTR_NULL(wire_rd_ptr(&c, SIZE_MAX));
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
	wire_rd_init(&c, data, sizeof(data));
	wire_rd_skip(&c, SIZE_MAX - 1);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
	CU_ASSERT_EQUAL(wire_rd_offset(&c), 0);
}

static void given_exact_size_when_reading_all_then_ok_and_one_more_fails(void)
{
	wire_rd_t c;
	uint8_t out[sizeof(data)];
	wire_rd_init(&c, data, sizeof(data));
	wire_rd_bytes(&c, out, sizeof(data));
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, data, sizeof(data)), 0);
	CU_ASSERT_EQUAL(wire_rd_available(&c), 0);
	wire_rd_skip(&c, 1);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
}

static void given_trailing_bytes_when_finishing_then_malformed(void)
{
	wire_rd_t c;
	wire_rd_init(&c, data, 3);
	wire_rd_u16(&c);
	CU_ASSERT_EQUAL(wire_rd_finish(&c), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(wire_rd_peek_u8(&c), 0x03);
	CU_ASSERT_EQUAL(wire_rd_available(&c), 1); /* peek consumes nothing */
}

static void given_sub_cursor_when_reading_then_bounded_to_sub(void)
{
	wire_rd_t c;
	wire_rd_init(&c, data, sizeof(data));
	wire_rd_t sub = wire_rd_sub(&c, 3);
	CU_ASSERT_EQUAL(wire_rd_offset(&c), 3);
	CU_ASSERT_EQUAL(wire_rd_u16(&sub), 0x0102);
	CU_ASSERT_EQUAL(wire_rd_u16(&sub), 0);
	CU_ASSERT_EQUAL(wire_rd_error(&sub), KMS_EFEWDATA);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EOK); /* parent unaffected */
	CU_ASSERT_EQUAL(wire_rd_u8(&c), 0x04);
	wire_rd_t big = wire_rd_sub(&c, 100);
	CU_ASSERT_EQUAL(wire_rd_error(&big), KMS_EFEWDATA);
	CU_ASSERT_EQUAL(wire_rd_error(&c), KMS_EFEWDATA);
}

static void given_buffer_when_writing_each_width_then_big_endian_bytes(void)
{
	uint8_t buf[15];
	wire_wr_t w;
	wire_wr_init(&w, buf, sizeof(buf));
	wire_wr_u8(&w, 0x01);
	wire_wr_u16(&w, 0x0203);
	wire_wr_u32(&w, 0x04050607);
	wire_wr_u64(&w, 0x08090a0b0c0d0e0fULL);
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_EOK);
	CU_ASSERT_EQUAL(wire_wr_offset(&w), 15);
	CU_ASSERT_EQUAL(wire_wr_available(&w), 0);
	CU_ASSERT_EQUAL(memcmp(buf, data, sizeof(buf)), 0);
}

static void given_full_buffer_when_writing_each_width_then_espace(void)
{
	uint8_t buf[8];
	for (size_t cap = 0; cap < 8; cap++) {
		wire_wr_t w;
		memset(buf, 0xee, sizeof(buf));
		wire_wr_init(&w, buf, cap);
		wire_wr_u64(&w, 0x1122334455667788ULL);
		CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_ESPACE);
		CU_ASSERT_EQUAL(buf[0], 0xee); /* nothing partially written */
		wire_wr_init(&w, buf, cap);
		wire_wr_bytes(&w, data, cap + 1);
		CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_ESPACE);
		wire_wr_init(&w, buf, cap);
		wire_wr_zero(&w, cap + 1);
		CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_ESPACE);
		if (cap < 4) {
			wire_wr_init(&w, buf, cap);
			wire_wr_u32(&w, 1);
			CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_ESPACE);
		}
		if (cap < 2) {
			wire_wr_init(&w, buf, cap);
			wire_wr_u16(&w, 1);
			CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_ESPACE);
		}
		if (cap < 1) {
			wire_wr_init(&w, buf, cap);
			wire_wr_u8(&w, 1);
			CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_ESPACE);
		}
		CU_ASSERT_EQUAL(buf[0], 0xee);
	}
}

static void given_write_error_when_writing_more_then_error_sticks(void)
{
	uint8_t buf[4] = { 0 };
	wire_wr_t w;
	wire_wr_init(&w, buf, sizeof(buf));
	wire_wr_u8(&w, 0x11);
	wire_wr_u32(&w, 0x22222222); /* does not fit */
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_ESPACE);
	wire_wr_u8(&w, 0x33); /* would fit */
	CU_ASSERT_EQUAL(buf[1], 0x00);
	CU_ASSERT_PTR_NULL(wire_wr_reserve(&w, 1));
	CU_ASSERT_EQUAL(wire_wr_available(&w), 0);
	CU_ASSERT_EQUAL(wire_wr_offset(&w), 1);
	wire_wr_patch_u16(&w, 0, 0xffff);
	CU_ASSERT_EQUAL(buf[0], 0x11);
}

static void given_zero_length_when_writing_then_ok_with_null(void)
{
	wire_wr_t w;
	wire_wr_init(&w, NULL, 0);
	wire_wr_bytes(&w, NULL, 0);
	wire_wr_zero(&w, 0);
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_EOK);
	wire_wr_u8(&w, 1);
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_ESPACE);
	uint8_t buf[2];
	wire_wr_init(&w, buf, 2);
	wire_wr_bytes(&w, NULL, 1);
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_EINVAL);
}

static void given_reserved_length_when_patching_then_value_in_place(void)
{
	uint8_t buf[6];
	wire_wr_t w;
	wire_wr_init(&w, buf, sizeof(buf));
	size_t at = wire_wr_offset(&w);
	wire_wr_u16(&w, 0);
	uint8_t *p = wire_wr_reserve(&w, 3);
	CU_ASSERT_PTR_EQUAL(p, buf + 2);
	memset(p, 0x5a, 3);
	wire_wr_patch_u16(&w, at, 3);
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_EOK);
	CU_ASSERT_EQUAL(buf[0], 0x00);
	CU_ASSERT_EQUAL(buf[1], 0x03);
	/* Patching past what was written is misuse. */
	wire_wr_patch_u16(&w, 4, 1);
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_EINVAL);
	wire_wr_init(&w, buf, sizeof(buf));
	wire_wr_patch_u16(&w, SIZE_MAX, 1);
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_EINVAL);
}

static void given_huge_length_when_writing_then_no_overflow(void)
{
	uint8_t buf[4];
	wire_wr_t w;
	wire_wr_init(&w, buf, sizeof(buf));
	wire_wr_u8(&w, 0);
	CU_ASSERT_PTR_NULL(wire_wr_reserve(&w, SIZE_MAX));
	CU_ASSERT_EQUAL(wire_wr_error(&w), KMS_ESPACE);
	CU_ASSERT_EQUAL(wire_wr_offset(&w), 1);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_bytes_when_reading_each_width_then_big_endian_values),
		UNIT_TEST(given_short_input_when_reading_then_fewdata_and_zero),
		UNIT_TEST(given_error_when_reading_more_then_error_sticks),
		UNIT_TEST(given_zero_length_when_reading_then_ok_with_null),
		UNIT_TEST(given_null_with_length_when_init_then_einval),
		UNIT_TEST(given_huge_length_when_reading_then_no_overflow),
		UNIT_TEST(given_exact_size_when_reading_all_then_ok_and_one_more_fails),
		UNIT_TEST(given_trailing_bytes_when_finishing_then_malformed),
		UNIT_TEST(given_sub_cursor_when_reading_then_bounded_to_sub),
		UNIT_TEST(given_buffer_when_writing_each_width_then_big_endian_bytes),
		UNIT_TEST(given_full_buffer_when_writing_each_width_then_espace),
		UNIT_TEST(given_write_error_when_writing_more_then_error_sticks),
		UNIT_TEST(given_zero_length_when_writing_then_ok_with_null),
		UNIT_TEST(given_reserved_length_when_patching_then_value_in_place),
		UNIT_TEST(given_huge_length_when_writing_then_no_overflow),
		UNIT_END,
	};
	return unit_run("wire", tests);
}
