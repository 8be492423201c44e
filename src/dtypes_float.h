/* Instantiates the .inc file named by CPOOL_BODY once per floating type (float32, float64), with
 * T (element type), SFX (function-name suffix) and LOWEST (the value of a
 * window with no input element: -inf, or the integer type's minimum), and
 * POW/SQRT, the math functions of T.
 * Written out rather than generated: it is the one list of dtypes. */
#define T float
#define SFX f32
#define LOWEST (-INFINITY)
#define POW powf
#define SQRT sqrtf
#include CPOOL_BODY
#undef T
#undef SFX
#undef LOWEST
#undef POW
#undef SQRT

#define T double
#define SFX f64
#define LOWEST (-(double)INFINITY)
#define POW pow
#define SQRT sqrt
#include CPOOL_BODY
#undef T
#undef SFX
#undef LOWEST
#undef POW
#undef SQRT
