#pragma once
// Black-box tests of the real `latchkey` binary (design.md §2 "tests/integration/"): the server
// launcher, the browser, the raw HTTP client, child processes, temp dirs and the fake identity
// provider, all from the test-support library. The integration and security suites have always
// called these `it::...`; that name stays, for the same things.
#include "support/browser.hpp"
#include "support/fake_idp.hpp"
#include "support/http_client.hpp"
#include "support/mail_drop.hpp"
#include "support/process.hpp"
#include "support/server.hpp"
#include "support/temp_dir.hpp"
#include "support/url.hpp"

namespace latchkey::it {
using namespace ::latchkey::test;  // NOLINT(google-build-using-namespace): the suites' old name
}  // namespace latchkey::it
