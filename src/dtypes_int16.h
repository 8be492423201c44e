/* int16 and uint16, a part of dtypes_int.h (see there). */
#include <stdint.h>

#define T int16_t
#define SFX i16
#define LOWEST INT16_MIN
#include CPOOL_BODY
#undef T
#undef SFX
#undef LOWEST

#define T uint16_t
#define SFX u16
#define LOWEST 0
#include CPOOL_BODY
#undef T
#undef SFX
#undef LOWEST
