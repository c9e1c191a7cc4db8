#ifndef STEEMAUTH_CHIREDIS_SHIM_H
#define STEEMAUTH_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
