/*
 * test_map.c - the open-addressing hash map: many keys with backward-shift deletion,
 * replacement that never allocates, and the case-insensitive name hash.
 */
#include "map.h"

#include <criterion/criterion.h>
#include <stdint.h>

Test(map, put_get_delete_many_with_backward_shift)
{
	struct map m = { 0 };
	static int values[5000];
	for (uint64_t k = 1; k <= 5000; k++)
		cr_assert_eq(map_put(&m, k * 7919, &values[k - 1]), 0);
	cr_assert_eq(m.len, 5000);
	for (uint64_t k = 1; k <= 5000; k += 2)
		cr_assert_eq(map_del(&m, k * 7919), &values[k - 1]);
	for (uint64_t k = 1; k <= 5000; k++)
		cr_assert_eq(map_get(&m, k * 7919), k % 2 ? NULL : &values[k - 1], "key %llu",
			     (unsigned long long)k);
	size_t pos = 0, seen = 0;
	uint64_t key;
	void *v;
	while (map_next(&m, &pos, &key, &v))
		seen++;
	cr_assert_eq(seen, 2500);
	cr_assert_null(map_del(&m, 12345678));
	map_free(&m);
}

/* name_remove and room_unlist replace a key and count on it not failing: a replacement must
 * never need to allocate, even in a table at its load limit. */
Test(map, replacing_a_key_at_the_load_limit_does_not_grow_the_table)
{
	struct map m = { 0 };
	static int values[12];
	for (uint64_t k = 1; k <= 11; k++) /* 11 of 16 slots: the next new key grows it */
		cr_assert_eq(map_put(&m, k, &values[k]), 0);
	cr_assert_eq(m.cap, 16);
	cr_assert_eq(map_put(&m, 5, &values[0]), 0);
	cr_assert_eq(m.cap, 16, "a replacement grew the table to %zu", m.cap);
	cr_assert_eq(m.len, 11);
	cr_assert_eq(map_get(&m, 5), &values[0]);
	cr_assert_eq(map_put(&m, 12, &values[0]), 0); /* a new key still grows it */
	cr_assert_eq(m.cap, 32);
	map_free(&m);
}

Test(map, name_hash_ignores_case)
{
	cr_assert_eq(map_hash_name("Alice", 5), map_hash_name("aLICE", 5));
	cr_assert_neq(map_hash_name("alice", 5), map_hash_name("alicf", 5));
	cr_assert_neq(map_hash_name("", 0), 0);
}
