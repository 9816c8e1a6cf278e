#include "support/browser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "support/url.hpp"

namespace latchkey::test {
namespace json = boost::json;

// ---- Browser ------------------------------------------------------------------------------------

Browser::Browser(const Server& server) : origin_header(server.origin()), port_(server.port()) {}
Browser::Browser(int port, std::string origin) : origin_header(std::move(origin)), port_(port) {}

HttpResponse Browser::send(HttpRequest request) {
  if (!cookies_.empty()) {
    std::string c;
    for (const auto& [k, v] : cookies_) {
      if (!c.empty()) {
        c += "; ";
      }
      c += k + "=" + v;
    }
    request.headers.emplace_back("Cookie", c);
  }
  if (!origin_header.empty() && request.method != "GET") {
    request.headers.emplace_back("Origin", origin_header);
  }
  HttpResponse r = http_request(port_, request);
  absorb(r);
  return r;
}

HttpResponse Browser::get(const std::string& target) {
  HttpRequest r;
  r.target = target;
  return send(std::move(r));
}

HttpResponse Browser::post(const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& form) {
  return post_raw_body(target, form_encode(form));
}

HttpResponse Browser::post_raw_body(const std::string& target, const std::string& body,
                                    const std::string& content_type) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.body = body;
  r.headers.emplace_back("Content-Type", content_type);
  return send(std::move(r));
}

json::value Browser::client() {
  auto r = get("/__clerk/v1/client");
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = r.json();
  if (!j.is_object() || !j.as_object().contains("response")) {
    ADD_FAILURE() << "GET /v1/client is not {response, client}: " << r.body;
    return nullptr;
  }
  EXPECT_TRUE(j.as_object().at("client").is_null()) << r.body;  // README §1.6
  return j.as_object().at("response");
}

std::optional<std::string> Browser::cookie(const std::string& name) const {
  auto it = cookies_.find(name);
  if (it == cookies_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void Browser::absorb(const HttpResponse& r) {
  bodies_.push_back(r.body);
  for (const auto& sc : r.all("set-cookie")) {
    const auto semi = sc.find(';');
    const std::string pair = sc.substr(0, semi);
    const auto eq = pair.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    const std::string name = trim(pair.substr(0, eq));
    const std::string value = trim(pair.substr(eq + 1));
    const std::string attrs = lower(semi == std::string::npos ? "" : sc.substr(semi));
    if (value.empty() || attrs.find("max-age=0") != std::string::npos ||
        attrs.find("1970") != std::string::npos) {
      cookies_.erase(name);
    } else {
      cookies_[name] = value;
    }
  }
}

// ---- JSON helpers -------------------------------------------------------------------------------

const json::value& at(const json::value& v, std::string_view path) {
  static const json::value kNull = nullptr;
  const json::value* cur = &v;
  while (!path.empty()) {
    const auto dot = path.find('.');
    const std::string key(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (cur->is_object()) {
      const auto* next = cur->as_object().if_contains(key);
      if (next == nullptr) {
        return kNull;
      }
      cur = next;
    } else if (cur->is_array() && !key.empty() &&
               std::all_of(key.begin(), key.end(),
                           [](unsigned char c) { return std::isdigit(c); })) {
      const auto idx = std::strtoul(key.c_str(), nullptr, 10);
      if (idx >= cur->as_array().size()) {
        return kNull;
      }
      cur = &cur->as_array()[idx];
    } else {
      return kNull;
    }
  }
  return *cur;
}

std::string str(const json::value& v, std::string_view path) {
  const auto& x = at(v, path);
  return x.is_string() ? std::string(x.as_string()) : std::string();
}

std::int64_t num(const json::value& v, std::string_view path) {
  const auto& x = at(v, path);
  if (x.is_int64()) {
    return x.as_int64();
  }
  if (x.is_uint64()) {
    return static_cast<std::int64_t>(x.as_uint64());
  }
  return 0;
}

json::value error_of(const HttpResponse& r) {
  const auto j = r.json();
  const auto& first = at(j, "errors.0");
  const bool ok = first.is_object() && at(first, "code").is_string() &&
                  at(first, "message").is_string() && at(first, "long_message").is_string() &&
                  at(first, "meta").is_object();
  if (!ok) {
    ADD_FAILURE() << "not a Clerk error envelope (status " << r.status << "): " << r.body;
    return nullptr;
  }
  return first;
}

std::string client_snapshot(const json::value& client) {
  if (client.is_null()) {
    return "null";
  }
  std::string s = "client=" + str(client, "id") +
                  " updated=" + std::to_string(num(client, "updated_at")) +
                  " last_active=" + str(client, "last_active_session_id");
  s += " sign_in=" + str(client, "sign_in.id") + "/" + str(client, "sign_in.status") + "/" +
       str(client, "sign_in.first_factor_verification.status");
  s += " sign_up=" + str(client, "sign_up.id") + "/" + str(client, "sign_up.status");
  s += " sessions=[";
  if (const auto& ss = at(client, "sessions"); ss.is_array()) {
    for (const auto& x : ss.as_array()) {
      s += str(x, "id") + "/" + str(x, "status") + ",";
    }
  }
  s += "]";
  return s;
}

}  // namespace latchkey::test
