#pragma once
// URL, form and field-text helpers shared by the test clients and the fake identity provider.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::test {

// application/x-www-form-urlencoded with RFC 3986 unreserved characters kept.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
// Percent-decoding, '+' as space.
std::string url_decode(std::string_view s);
// Query parameters of an absolute URL or a target (decoded; the fragment is ignored).
std::map<std::string, std::string> query_params(std::string_view url);

// ASCII lower case (field names).
std::string lower(std::string s);
// Without leading and trailing spaces and tabs (and a trailing CR): a field value.
std::string trim(std::string_view s);

}  // namespace latchkey::test
