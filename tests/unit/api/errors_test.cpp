#include "api/errors.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

using latchkey::core::Code;
using latchkey::core::Error;

namespace {
boost::json::object first_error(const latchkey::http::Response& r) {
  auto v = boost::json::parse(r.body);
  return v.at("errors").as_array().at(0).as_object();
}
}  // namespace

TEST(ErrorMapping, EnvelopeHasClerkShapeAndStatus) {
  auto r = latchkey::api::error_response(
      Error(Code::kFormParamMissing).with_meta("param_name", "strategy"), "req-1");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto e = first_error(r);
  EXPECT_EQ(e.at("code").as_string(), "form_param_missing");
  EXPECT_FALSE(e.at("message").as_string().empty());
  EXPECT_FALSE(e.at("long_message").as_string().empty());
  EXPECT_EQ(e.at("meta").at("param_name").as_string(), "strategy");
  EXPECT_EQ(boost::json::parse(r.body).at("clerk_trace_id").as_string(), "req-1");
}

TEST(ErrorMapping, StatusPerCode) {
  EXPECT_EQ(latchkey::api::error_response(Error(Code::kResourceNotFound), "").status, 404);
  EXPECT_EQ(latchkey::api::error_response(Error(Code::kRequestBodyTooLarge), "").status, 413);
  EXPECT_EQ(latchkey::api::error_response(Error(Code::kMalformedRequest), "").status, 400);
  EXPECT_EQ(latchkey::api::error_response(Error(Code::kMethodNotAllowed), "").status, 405);
  EXPECT_EQ(latchkey::api::error_response(Error(Code::kServiceUnavailable), "").status, 503);
  EXPECT_EQ(latchkey::api::error_response(Error(Code::kInternal), "").status, 500);
}

TEST(ErrorMapping, InternalReasonNeverLeaks) {
  auto r = latchkey::api::error_response(
      Error(Code::kInternal).with_internal("sqlite: disk I/O error at /secret/path"), "");
  EXPECT_EQ(r.body.find("sqlite"), std::string::npos);
  EXPECT_EQ(r.body.find("/secret/path"), std::string::npos);
  EXPECT_EQ(first_error(r).at("code").as_string(), "internal_clerk_error");
}

TEST(ErrorMapping, CustomMessagesOverrideDefaults) {
  auto r = latchkey::api::error_response(Error(Code::kFormParamInvalid, "bad", "really bad"), "");
  auto e = first_error(r);
  EXPECT_EQ(e.at("message").as_string(), "bad");
  EXPECT_EQ(e.at("long_message").as_string(), "really bad");
}

TEST(ErrorMapping, TooManyRequestsCarriesRetryAfter) {
  auto r = latchkey::api::error_response(
      Error(Code::kTooManyRequests).with_meta("retry_after_seconds", "7"), "");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "7");
}
