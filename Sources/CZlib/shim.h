#include <zlib.h>

/* deflateInit2 is a macro over deflateInit2_: a typed wrapper Swift can call. */
static inline int steemauth_deflate_init_raw(z_streamp strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}
