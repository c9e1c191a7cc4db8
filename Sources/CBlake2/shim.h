#ifndef STEEMAUTH_CBLAKE2_SHIM_H
#define STEEMAUTH_CBLAKE2_SHIM_H
#include <blake2.h>
#endif
