#include <zlib.h>

/* deflateInit2 is a macro over deflateInit2_: a typed wrapper Swift can call. windowBits 9..15 and
   memLevel 1..9 trade memory for ratio (any inflater reads any window size). */
static inline int steemauth_deflate_init_raw(z_streamp strm, int level, int windowBits, int memLevel) {
    return deflateInit2(strm, level, Z_DEFLATED, -windowBits, memLevel, Z_DEFAULT_STRATEGY);
}
