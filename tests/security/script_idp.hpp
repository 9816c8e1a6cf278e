#pragma once
// The security catalog's names for the test-support library's scriptable identity provider
// (tests/support/fake_idp.hpp, security-catalog.md §2.M): `ScriptIdp`, `User`, `Fault`, `Sign`,
// `IdpKey`, the shared keys and `b64`, plus `json` and the chrono literals in latchkey::sec, and
// the headers the suite's files have always had from here.
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/base64.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "crypto/key.hpp"
#include "support/fake_idp.hpp"
#include "support/harness.hpp"

namespace latchkey::sec {

namespace json = boost::json;
using namespace std::chrono_literals;

using ScriptIdp = test::FakeIdp;
using User = test::IdpUser;
using test::b64;
using test::ec_key;
using test::Fault;
using test::IdpKey;
using test::rsa_key;
using test::Sign;

}  // namespace latchkey::sec
