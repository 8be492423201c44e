/* int32 and int64, a part of dtypes_int.h (see there). */
#include <stdint.h>

#define T int32_t
#define SFX i32
#define LOWEST INT32_MIN
#include CPOOL_BODY
#undef T
#undef SFX
#undef LOWEST

#define T int64_t
#define SFX i64
#define LOWEST INT64_MIN
#include CPOOL_BODY
#undef T
#undef SFX
#undef LOWEST
