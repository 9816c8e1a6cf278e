#pragma once
// The password library (issue 11, item 2): hashing and verification (hasher.hpp), the sign-up and
// reset policy (policy.hpp) and the lockout arithmetic (lockout.hpp). A pure library: no store, no
// HTTP, no configuration. It takes its own settings structs; app/ maps the configuration onto them
// and flows/ calls it.
#include "passwords/hasher.hpp"
#include "passwords/lockout.hpp"
#include "passwords/policy.hpp"
