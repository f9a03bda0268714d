#pragma once
// libjose's headers declare C functions without extern "C"; every C++ file includes them through here.
#include <jansson.h>
#include <openssl/evp.h>

extern "C" {
#include <jose/jose.h>
#include <jose/openssl.h>
}
