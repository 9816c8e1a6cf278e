#pragma once
// The whole public crypto API in one include: keys, JWK/JWKS, JWS, strict JSON, Sealer.
#include "crypto/hmac.hpp"
#include "crypto/json.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "crypto/key.hpp"
#include "crypto/sealer.hpp"
