#include "http/http_date.hpp"

#include <ctime>

namespace latchkey::http {
namespace {

void put2(char* p, int v) {
  p[0] = static_cast<char>('0' + (v / 10) % 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

void format_http_date(std::chrono::system_clock::time_point t, char out[29]) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  const char* day = kDays[tm.tm_wday % 7];
  const char* mon = kMonths[tm.tm_mon % 12];
  int year = tm.tm_year + 1900;
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  out[0] = day[0];
  out[1] = day[1];
  out[2] = day[2];
  out[3] = ',';
  out[4] = ' ';
  put2(out + 5, tm.tm_mday);
  out[7] = ' ';
  out[8] = mon[0];
  out[9] = mon[1];
  out[10] = mon[2];
  out[11] = ' ';
  put2(out + 12, (year / 100) % 100);
  put2(out + 14, year % 100);
  out[16] = ' ';
  put2(out + 17, tm.tm_hour);
  out[19] = ':';
  put2(out + 20, tm.tm_min);
  out[22] = ':';
  put2(out + 23, tm.tm_sec);
  out[25] = ' ';
  out[26] = 'G';
  out[27] = 'M';
  out[28] = 'T';
}

std::string format_http_date(std::chrono::system_clock::time_point t) {
  char buf[29];
  format_http_date(t, buf);
  return std::string(buf, sizeof buf);
}

}  // namespace latchkey::http
