/* Instantiates the .inc file named by CPOOL_BODY once per integer type (int8 ... int64), with
 * T (element type), SFX (function-name suffix) and LOWEST (the value of a
 * window with no input element: -inf, or the integer type's minimum).
 * Written out rather than generated: it is the one list of dtypes. */
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
