/* int8 and uint8, a part of dtypes_int.h (see there). */
#include <stdint.h>

#define T int8_t
#define SFX i8
#define LOWEST INT8_MIN
#include CPOOL_BODY
#undef T
#undef SFX
#undef LOWEST

#define T uint8_t
#define SFX u8
#define LOWEST 0
#include CPOOL_BODY
#undef T
#undef SFX
#undef LOWEST
