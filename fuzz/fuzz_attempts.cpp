// flows::parse_sign_in_data / flows::parse_sign_up_data (src/flows/attempts.hpp): the DTO
// decoders of persisted sign-in / sign-up attempts (store::SignIn::data, store::SignUp::data).
// The data is written by us, but a decoder that crashes on a corrupt row takes the server down
// for every request touching that attempt. The first input byte picks the decoder. Checks,
// besides "no crash, no sanitizer report":
//  - round trip: for any x that decodes, to_json(parse(x)) decodes again and re-encodes to the
//    very same JSON (the encoder and decoder agree on every field);
//  - errors are kInternal (corruption, never a user-facing code).
#include "flows/attempts.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace latchkey;

template <typename Parse>
void round_trip(const std::string& text, Parse parse) {
  auto first = parse(text);
  if (!first) {
    FUZZ_CHECK(first.error().code == core::Code::kInternal);
    return;
  }
  const std::string encoded = flows::to_json(*first);
  auto second = parse(encoded);
  FUZZ_CHECK(second.has_value());
  FUZZ_CHECK(flows::to_json(*second) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Reader in(data, size);
  const bool sign_up = (in.byte() & 1U) != 0;
  const std::string text = in.rest();
  if (sign_up) {
    round_trip(text, [](std::string_view t) { return flows::parse_sign_up_data(t); });
  } else {
    round_trip(text, [](std::string_view t) { return flows::parse_sign_in_data(t); });
  }
  return 0;
}
