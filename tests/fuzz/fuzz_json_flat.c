/* The quick reader of flat request bodies on arbitrary bytes: whatever it
 * accepts, jansson (with the server's flags) reads as the same object; and
 * it accepts the bodies it is there for. */
#include "core/lib/json.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_t *flat = json_flat_load(text, size);
	if (flat) {
		json_error_t e;
		json_t *full = json_loadb(text, size, JSON_REJECT_DUPLICATES, &e);
		CHECK(full && json_is_object(full) && json_equal(flat, full));
		/* integers stay integers, not reals that happen to be equal */
		const char *key;
		json_t *v;
		json_object_foreach(flat, key, v)
			CHECK(json_typeof(v) == json_typeof(json_object_get(full, key)));
		json_decref(full);
		json_decref(flat);
	}
	static const char scan[] = "{\"venue_code\":\"V4K2\",\"person_id\":12,\"t_in\":1796000000}";
	json_t *s = json_flat_load(scan, sizeof scan - 1);
	CHECK(s && json_integer_value(json_object_get(s, "person_id")) == 12);
	json_decref(s);
	return 0;
}
