// The streaming FAPI encoder (api/dto): the documents it writes for representative views parse
// to exactly the values in testdata/fapi_encoded.json, which is what the Boost.JSON DOM encoder
// it replaced produced for the same samples (key order is free: the SDK reads objects by key).
#include "api/dto/encode.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "api/dto/json_writer.hpp"
#include "fapi_samples.hpp"

namespace {

namespace json = boost::json;
namespace dto = latchkey::api::dto;
namespace samples = latchkey::api::samples;
using latchkey::store::Session;

const json::object& expected() {
  static const json::object docs = [] {
    std::ifstream in(std::string(LATCHKEY_API_TESTDATA) + "/fapi_encoded.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str()).as_object();
  }();
  return docs;
}

// Strict parse (Boost.JSON rejects invalid UTF-8 and trailing garbage) of what we wrote.
json::value parsed(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in: " << text;
  return v;
}

void expect_document(const std::string& name, const std::string& text) {
  const json::value* want = expected().if_contains(name);
  ASSERT_NE(want, nullptr) << "no expected document " << name;
  EXPECT_EQ(parsed(text), *want) << name << ":\n got  " << text << "\n want "
                                 << json::serialize(*want);
}

// The service mints the tokens and hands them over in the view (the encoder never mints): here a
// token for sess_1 only, as if minting sess_2's had failed; the ended sess_3 gets none.
latchkey::flows::ClientView with_tokens(latchkey::flows::ClientView c) {
  for (auto& s : c.sessions) {
    if (s.session.id == "sess_1") {
      s.token = "jwt.for." + s.session.id;
    }
  }
  return c;
}

const std::vector<std::string> kRequired{"first_name"};

TEST(FapiEncoder, SignedInClientMatchesExpectedDocument) {
  expect_document("client_signed_in",
                  dto::client_json(with_tokens(samples::signed_in_client()), kRequired));
}

TEST(FapiEncoder, SignedInClientWithoutTokensHasNullTokens) {
  expect_document("client_no_token", dto::client_json(samples::signed_in_client(), kRequired));
}

TEST(FapiEncoder, ClientWithAttemptsMatchesExpectedDocument) {
  expect_document("client_attempting",
                  dto::client_json(with_tokens(samples::attempting_client()), kRequired));
}

TEST(FapiEncoder, AStoppedSessionNeverShowsAToken) {
  auto ended = samples::session_view("sess_3", "ended");
  ended.token = "jwt.minted.before";
  auto c = samples::signed_in_client();
  c.sessions = {ended};
  // Only live sessions are listed in the client.
  EXPECT_EQ(parsed(dto::client_json(c, kRequired)).at("sessions"), json::array());
}

TEST(FapiEncoder, AttemptRowsWithoutDataAreNull) {
  auto c = samples::attempting_client();
  c.sign_in_data.reset();
  c.sign_up_data.reset();
  expect_document("client_rows_without_data", dto::client_json(c, {}));
}

TEST(FapiEncoder, SignInInEachStatusMatchesExpectedDocument) {
  for (const auto& c : samples::sign_in_cases()) {
    SCOPED_TRACE(c.name);
    expect_document(std::string("sign_in_") + c.name, dto::sign_in_json(c.row, c.data));
  }
}

TEST(FapiEncoder, SignUpsMatchExpectedDocuments) {
  for (const auto& c : samples::sign_up_cases()) {
    SCOPED_TRACE(c.name);
    expect_document(std::string("sign_up_") + c.name, dto::sign_up_json(c.row, c.data, c.required));
  }
}

TEST(FapiEncoder, CompleteSignUpListsNoMissingFields) {
  auto c = samples::sign_up_cases()[3];
  c.data.username.reset();
  const json::value complete = parsed(dto::sign_up_json(c.row, c.data, c.required));
  EXPECT_EQ(complete.at("missing_fields"), json::array());
  EXPECT_EQ(complete.at("required_fields"),
            (json::array{"email_address", "first_name", "username"}));
  c.row.status = "missing_requirements";
  const json::value open = parsed(dto::sign_up_json(c.row, c.data, c.required));
  EXPECT_EQ(open.at("missing_fields"), json::array{"username"});
}

TEST(FapiEncoder, EndedSessionResourceMatchesExpectedDocument) {
  expect_document("session_ended", dto::session_json(samples::session_view("sess_3", "ended")));
}

TEST(FapiEncoder, WrittenIntoAnEnvelopeStaysOneDocument) {
  std::string body = "prefix:";  // the writer appends; it never touches what is there
  dto::JsonWriter w(body);
  w.begin_object();
  w.key("response");
  dto::write_sign_in(w, samples::sign_in_cases()[1].row, samples::sign_in_cases()[1].data);
  w.key("client");
  dto::write_client(w, with_tokens(samples::signed_in_client()), kRequired);
  w.end_object();
  ASSERT_TRUE(body.starts_with("prefix:"));
  const json::value v = parsed(body.substr(7));
  EXPECT_EQ(v.at("response"), expected().at("sign_in_needs_first_factor"));
  EXPECT_EQ(v.at("client"), expected().at("client_signed_in"));
}

// Bytes that are not valid UTF-8 (never written by us, but a store row is not trusted to be
// well-formed) still give valid JSON: each offending byte becomes U+FFFD, valid text around it
// is kept. (The DOM encoder copied such bytes into the output: invalid JSON.)
TEST(FapiEncoder, InvalidUtf8BecomesReplacementCharacters) {
  auto u = samples::full_user();
  u.user.first_name = std::string("a\xC3") + "b\xFF\xED\xA0\x80" + "\xC3\xA9";
  u.accounts[0].first_name = std::string("\xF4\x90\x80\x80");
  const json::value v = parsed(dto::user_json(u));
  EXPECT_EQ(v.at("first_name").as_string(),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xC3\xA9");
  EXPECT_EQ(v.at("external_accounts").at(0).at("first_name").as_string(),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

// Stored JSON texts (metadata, tasks) that are not the expected kind are replaced, never copied.
TEST(FapiEncoder, BrokenStoredJsonIsReplaced) {
  auto s = samples::session_view("sess_1", "active");
  s.user.user.public_metadata = R"({"a":1}{"b":2})";
  s.user.user.unsafe_metadata = "{\"a\":\"\xFF\"}";
  s.session.tasks = "[1,";
  const json::value v = parsed(dto::session_json(s));
  EXPECT_EQ(v.at("user").at("public_metadata"), json::object());
  EXPECT_EQ(v.at("user").at("unsafe_metadata"), json::object());
  EXPECT_TRUE(v.at("tasks").is_null());
}

TEST(JsonWriter, EscapesPerRfc8259) {
  std::string out;
  dto::JsonWriter::append_string(out, "q\"b\\s/\b\f\n\r\t\x01\x1F\x7F");
  EXPECT_EQ(out, R"("q\"b\\s/\b\f\n\r\t\u0001\u001f)"
                 "\x7F\"");
  out.clear();
  dto::JsonWriter::append_string(out, std::string("\0x", 2));
  EXPECT_EQ(out, R"("\u0000x")");
}

TEST(JsonWriter, KeepsValidUtf8AndReplacesInvalidSequences) {
  struct Case {
    std::string in;
    std::string want;  // between the quotes
  };
  const std::string fffd = "\\ufffd";
  const Case cases[] = {
      {"\xC3\xA9\xE2\x80\xA8\xF0\x9F\x94\x91", "\xC3\xA9\xE2\x80\xA8\xF0\x9F\x94\x91"},
      {"\x80", fffd},                                   // lone continuation byte
      {"\xC3", fffd},                                   // truncated at the end
      {"\xC3x", fffd + "x"},                            // truncated before ASCII
      {"\xC0\xAF", fffd + fffd},                        // overlong '/'
      {"\xE0\x80\xAF", fffd + fffd + fffd},             // overlong, 3 bytes
      {"\xED\xA0\x80", fffd + fffd + fffd},             // UTF-16 surrogate
      {"\xF0\x8F\xBF\xBF", fffd + fffd + fffd + fffd},  // overlong, 4 bytes
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // past U+10FFFF
      {"\xF5\x80", fffd + fffd},
      {"\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"},  // U+10FFFF itself
      {"\xEF\xBB\xBF", "\xEF\xBB\xBF"},          // BOM is a character like any other
  };
  for (const auto& c : cases) {
    std::string out;
    dto::JsonWriter::append_string(out, c.in);
    EXPECT_EQ(out, "\"" + c.want + "\"") << json::serialize(json::string(c.want));
    EXPECT_EQ(parsed(out).kind(), json::kind::string);
  }
}

TEST(JsonWriter, PlacesSeparatorsInNestedContainers) {
  std::string out;
  dto::JsonWriter w(out);
  w.begin_object();
  w.key("a");
  w.begin_array();
  w.value(1);
  w.begin_object();
  w.field("b", nullptr);
  w.end_object();
  w.begin_array();
  w.end_array();
  w.value(std::optional<std::string>());
  w.value(std::optional<std::int64_t>(-9'007'199'254'740'993));
  w.end_array();
  w.members(R"("c":{},"d":true)");
  w.field("e", false);
  w.field("f", "x");
  w.key("g");
  w.raw("[null]");
  w.end_object();
  EXPECT_EQ(out,
            R"({"a":[1,{"b":null},[],null,-9007199254740993],"c":{},"d":true,"e":false,"f":"x",)"
            R"("g":[null]})");
  parsed(out);
}

}  // namespace
