#pragma once
// The exhaustive check both machine tests share: every state x every event is looked up in a
// hand-written table of expected outcomes; a combination the table does not list must be an
// illegal transition (Code::kInvalidState, default message, an internal reason naming the
// machine, the event and the status). Every table row must match exactly one combination, so a
// typo in the table cannot silently test nothing.
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "flows/machine.hpp"

namespace latchkey::flows::testing {

// An error the request fails with, as the client sees it (code, message, long message and the
// param_name meta, the only meta these refusals carry).
struct Refusal {
  core::Code code = core::Code::kInvalidState;
  std::string message;
  std::string long_message;
  std::optional<std::string> param;
};

template <typename State>
using Expected = std::variant<Step<State, Effects>, Refusal>;

template <typename State, typename Event>
struct Row {
  State from;
  Event event;
  Expected<State> expected;
};

// The verifications of every status x strategy family x {no error, an error}: whatever the
// attempt holds, plus "none".
inline std::vector<std::optional<VerificationState>> all_verifications(
    const std::vector<std::optional<core::Code>>& input_errors) {
  std::vector<std::optional<VerificationState>> out{std::nullopt};
  for (VerificationStatus status : kAllVerificationStatuses) {
    for (StrategyFamily family : kAllStrategyFamilies) {
      for (const auto& error : input_errors) {
        out.push_back(VerificationState{status, family, error});
      }
    }
  }
  return out;
}

inline std::string describe_refusal(const core::Error& e) {
  std::string out = "error code=" + std::to_string(static_cast<int>(e.code)) + " message='" +
                    e.message + "' long='" + e.long_message + "'";
  for (const auto& [k, v] : e.meta) {
    out += " " + k + "=" + v;
  }
  return out + " internal='" + e.internal + "'";
}

// Returns how many combinations were checked.
template <typename State, typename Event, typename Transition, typename StatusName,
          std::size_t kEvents>
std::size_t check_exhaustively(const std::vector<State>& states, const std::vector<Event>& events,
                               const std::vector<Row<State, Event>>& table, Transition transition,
                               std::string_view machine,
                               const std::array<std::string_view, kEvents>& event_names,
                               StatusName status_name) {
  static_assert(std::variant_size_v<Event> == kEvents, "name every event alternative");
  // Every alternative of the event variant is exercised.
  std::vector<bool> seen_alternative(kEvents, false);
  for (const auto& e : events) {
    seen_alternative[e.index()] = true;
  }
  for (std::size_t i = 0; i < kEvents; ++i) {
    EXPECT_TRUE(seen_alternative[i]) << "no event of alternative " << event_names[i];
  }

  // The rows by (state, event) description (each describes its value exactly), so the loop
  // below stays linear in the combinations; equality is still checked on the values.
  auto key = [](const State& st, const Event& ev) { return describe(st) + " | " + describe(ev); };
  std::unordered_map<std::string, std::vector<std::size_t>> index;
  for (std::size_t i = 0; i < table.size(); ++i) {
    index[key(table[i].from, table[i].event)].push_back(i);
  }
  std::vector<int> matched(table.size(), 0);
  std::size_t combinations = 0;
  int failures = 0;
  constexpr int kMaxFailures = 40;
  for (const State& state : states) {
    for (const Event& event : events) {
      ++combinations;
      const Row<State, Event>* row = nullptr;
      if (auto it = index.find(key(state, event)); it != index.end()) {
        for (std::size_t i : it->second) {
          if (table[i].from == state && table[i].event == event) {
            ++matched[i];
            row = &table[i];
          }
        }
      }
      const auto got = transition(state, event);
      const std::string where = describe(event) + " in " + describe(state);
      auto fail = [&](const std::string& what) {
        if (++failures <= kMaxFailures) {
          ADD_FAILURE() << where << ": " << what;
        }
      };
      if (row == nullptr) {
        // Not in the table: illegal.
        if (got) {
          fail("expected illegal, got " + describe(got->state) + " " + describe(got->effects));
          continue;
        }
        const core::Error& e = got.error();
        const std::string& why = e.internal;
        if (e.code != core::Code::kInvalidState || !e.message.empty() || !e.long_message.empty() ||
            !e.meta.empty() || why.find(std::string(machine) + ": ") != 0 ||
            why.find(event_names[event.index()]) == std::string::npos ||
            why.find(status_name(state)) == std::string::npos) {
          fail("expected a plain illegal transition naming event and status, got " +
               describe_refusal(e));
        }
        continue;
      }
      if (const auto* step = std::get_if<Step<State, Effects>>(&row->expected)) {
        if (!got) {
          fail("expected " + describe(step->state) + " " + describe(step->effects) + ", got " +
               describe_refusal(got.error()));
        } else if (!(got->state == step->state) || !(got->effects == step->effects)) {
          fail("expected " + describe(step->state) + " " + describe(step->effects) + ", got " +
               describe(got->state) + " " + describe(got->effects));
        }
        continue;
      }
      const auto& want = std::get<Refusal>(row->expected);
      if (got) {
        fail("expected a refusal, got " + describe(got->state) + " " + describe(got->effects));
        continue;
      }
      const core::Error& e = got.error();
      const std::string* param = e.find_meta("param_name");
      const std::size_t want_meta = want.param ? 1 : 0;
      if (e.code != want.code || e.message != want.message || e.long_message != want.long_message ||
          e.meta.size() != want_meta ||
          (want.param && (param == nullptr || *param != *want.param))) {
        fail("expected code=" + std::to_string(static_cast<int>(want.code)) + " message='" +
             want.message + "' long='" + want.long_message + "' param=" + want.param.value_or("-") +
             ", got " + describe_refusal(e));
      }
      if (want.code == core::Code::kInvalidState && e.internal.empty()) {
        fail("a refused transition names its reason in `internal`");
      }
    }
  }
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(matched[i], 1) << "table row " << i << " (" << describe(table[i].event) << " in "
                             << describe(table[i].from) << ") must match exactly one combination";
  }
  EXPECT_EQ(failures, 0) << failures << " combinations failed (first " << kMaxFailures << " shown)";
  return combinations;
}

}  // namespace latchkey::flows::testing
