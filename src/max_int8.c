/* Max pooling kernels for int8 and uint8; max.h says why apart. */
#include "max.h"

#define CPOOL_BODY "max.inc"
#include "dtypes_int8.h"
