#pragma once
// libjose's headers declare C functions without extern "C"; the adapter's files include them through here.
#include <jansson.h>
#include <openssl/evp.h>

extern "C" {
#include <jose/jose.h>
#include <jose/openssl.h>
}
