/* Max pooling kernels for int16 and uint16; max.h says why apart. */
#include "max.h"

#define CPOOL_BODY "max.inc"
#include "dtypes_int16.h"
