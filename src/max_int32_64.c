/* Max pooling kernels for int32 and int64; max.h says why apart. */
#include "max.h"

#define CPOOL_BODY "max.inc"
#include "dtypes_int32_64.h"
