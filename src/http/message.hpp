#pragma once
// Transport-neutral request and response. Only the server's files in http/ include Beast
// (design.md §3.14); everything above them sees these plain structs.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

struct Header {
  std::string name;  // lower case
  std::string value;
};

struct Request {
  Method method = Method::kGet;
  std::string target;  // raw request target ("/v1/client?x=1")
  std::string path;    // percent-decoded path, no query
  std::string query;   // raw query string without '?'
  std::vector<Header> headers;
  std::string body;
  std::string remote_addr;
  std::string request_id;
  // Captures from the route pattern ("/v1/client/sessions/{id}/touch" -> {"id", ...}).
  std::vector<std::pair<std::string, std::string>> params;
  // Spare storage for the response body: a handler may take it (std::move, clear, append) to
  // build Response::body. The server hands each written body's storage back here, so the
  // requests of a keep-alive connection reuse one allocation. Holds no request data.
  std::string body_buffer;

  [[nodiscard]] std::optional<std::string_view> header(std::string_view lower_name) const {
    for (const auto& h : headers) {
      if (h.name == lower_name) {
        return h.value;
      }
    }
    return std::nullopt;
  }
  [[nodiscard]] std::string_view param(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) {
        return v;
      }
    }
    return {};
  }
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // content-type etc.; server adds date, content-length, x-request-id
  std::string body;

  Response& set(std::string name, std::string value) {
    headers.push_back({std::move(name), std::move(value)});
    return *this;
  }
  [[nodiscard]] std::optional<std::string_view> header(std::string_view lower_name) const {
    for (const auto& h : headers) {
      if (h.name == lower_name) {
        return h.value;
      }
    }
    return std::nullopt;
  }
};

}  // namespace latchkey::http
