/* Instantiates the .inc file named by CPOOL_BODY once per integer type (int8 ... int64), with
 * T (element type), SFX (function-name suffix) and LOWEST (the value of a
 * window with no input element: -inf, or the integer type's minimum).
 * Written out rather than generated: it is the one list of dtypes, kept in
 * three parts so that a large body can build them in separate files, which
 * compile in parallel (max.h). */
#include <stdint.h>

#include "dtypes_int8.h"
#include "dtypes_int16.h"
#include "dtypes_int32_64.h"
