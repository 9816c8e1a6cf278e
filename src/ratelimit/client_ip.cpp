#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "ratelimit/limiter.hpp"

namespace latchkey::ratelimit {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// "[::1]:port" / "1.2.3.4:port" / bare address -> the address.
std::string strip_port(std::string_view a) {
  a = trim(a);
  if (a.starts_with('[')) {
    const auto close = a.find(']');
    return std::string(a.substr(1, close == std::string_view::npos ? a.size() - 1 : close - 1));
  }
  if (std::count(a.begin(), a.end(), ':') == 1) {
    return std::string(a.substr(0, a.find(':')));
  }
  return std::string(a);
}

// The key form of an address: IPv4 as is, IPv6 as its /64 prefix, anything unparsable as "?" plus
// a bounded copy (a forwarding header we trust should never hold garbage).
std::string normalise(const std::string& addr) {
  in_addr v4{};
  if (::inet_pton(AF_INET, addr.c_str(), &v4) == 1) {
    std::array<char, INET_ADDRSTRLEN> buf{};
    ::inet_ntop(AF_INET, &v4, buf.data(), buf.size());
    return buf.data();
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, addr.c_str(), &v6) == 1) {
    // IPv4-mapped (::ffff:a.b.c.d): key on the IPv4 address.
    static constexpr std::array<unsigned char, 12> kMapped{0, 0, 0, 0, 0,    0,
                                                           0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped.begin(), kMapped.end(), v6.s6_addr)) {
      std::memcpy(&v4, v6.s6_addr + 12, 4);
      std::array<char, INET_ADDRSTRLEN> buf{};
      ::inet_ntop(AF_INET, &v4, buf.data(), buf.size());
      return buf.data();
    }
    std::fill(v6.s6_addr + 8, v6.s6_addr + 16, 0);
    std::array<char, INET6_ADDRSTRLEN> buf{};
    ::inet_ntop(AF_INET6, &v6, buf.data(), buf.size());
    return std::string(buf.data()) + "/64";
  }
  return "?" + addr.substr(0, 64);
}

bool trusted(const std::string& addr, const std::vector<std::string>& proxies) {
  return std::find(proxies.begin(), proxies.end(), addr) != proxies.end();
}

}  // namespace

std::string client_ip(std::string_view remote_addr, std::string_view x_forwarded_for,
                      const std::vector<std::string>& trusted_proxies) {
  std::string peer = strip_port(remote_addr);
  if (trusted_proxies.empty() || !trusted(peer, trusted_proxies)) {
    return normalise(peer);
  }
  // Walk X-Forwarded-For from the right: entries added by our own proxies are skipped; the first
  // one that is not ours was written by the proxy that talked to the client, so it is the client.
  std::string_view rest = x_forwarded_for;
  while (!rest.empty()) {
    const auto comma = rest.rfind(',');
    const std::string_view item = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    std::string addr = strip_port(item);
    if (addr.empty()) {
      continue;
    }
    if (!trusted(addr, trusted_proxies)) {
      return normalise(addr);
    }
    peer = addr;
  }
  return normalise(peer);
}

}  // namespace latchkey::ratelimit
